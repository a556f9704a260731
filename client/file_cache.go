package client

import (
	"context"
	"sync"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Reads fetch chunk data in windows of ChunkSize: a chunk no larger than
// that is one window, read whole and checked against its sum; a larger
// chunk (written by another tool) is read window by window. Windows are
// kept in a small cache per open file, so the kernel's 128 KiB reads of a
// chunk cost one fetch, and sequential reads prefetch the windows ahead,
// several at once: one fetch's round trip and the server's disk read
// overlap with the others'.

const (
	// readAhead is how far past a sequential read the windows are
	// prefetched.
	readAhead = 4 * ChunkSize
	// prefetchDepth bounds a file's prefetches running at once.
	prefetchDepth = readAhead / ChunkSize
	// cacheWindows bounds a file's cached windows (each at most ChunkSize):
	// the ones prefetched, the one being read, and one more for readers
	// that jump. Windows being fetched may exceed it briefly (one per
	// reader waiting on a miss, plus the prefetches).
	cacheWindows = readAhead/ChunkSize + 2
)

type windowKey struct {
	chunk string
	index uint64
}

// window is a cached piece of a chunk; ready is closed once data or err
// is set.
type window struct {
	ready chan struct{}
	data  chunkData // in buf when the window has one
	err   error
	buf   *[ChunkSize]byte // from windowBufs, or nil
	used  uint64           // cache tick of the last use, for eviction
	read  bool             // a reader used it (not only a prefetch), for eviction
	refs  int              // the cache's, its filler's and its readers'; guarded by the cache's mu
}

// windowBufs recycles the buffers whole windows are received into, so a
// long read neither allocates nor zeroes one per window. A buffer comes
// back when its window's last reference goes: out of the cache, no fill
// or copy under way.
var windowBufs = sync.Pool{New: func() any { return new([ChunkSize]byte) }}

// pooledWindow is the smallest window worth a pooled buffer: a smaller
// one (a small file's chunk) gets a slice of its own size.
const pooledWindow = ChunkSize / 2

// windowCache holds recently read windows. Concurrent readers of one
// window share a single fetch.
type windowCache struct {
	c    *Client
	mu   sync.Mutex
	m    map[windowKey]*window
	tick uint64
}

func newWindowCache(c *Client) *windowCache {
	return &windowCache{c: c, m: make(map[windowKey]*window)}
}

// windowOf returns the window of ref holding chunk offset off, and the
// window's start offset in the chunk.
func windowOf(ref *pb.ChunkRef, off uint64) (windowKey, uint64) {
	if ref.GetSize() <= ChunkSize {
		return windowKey{ref.GetId(), 0}, 0
	}
	i := off / ChunkSize
	return windowKey{ref.GetId(), i}, i * ChunkSize
}

// get returns the window of ref that holds chunk offset off, and the
// window's start, fetching it unless cached; the caller reads w.data and
// then releases w. A window another reader (or a prefetch) failed to fetch
// is fetched again once.
func (wc *windowCache) get(ctx context.Context, ref *pb.ChunkRef, off uint64) (*window, uint64, error) {
	key, start := windowOf(ref, off)
	for try := 0; ; try++ {
		w, fetch := wc.claim(key, true)
		if fetch {
			wc.fill(ctx, key, w, ref, start)
		}
		select {
		case <-w.ready:
		case <-ctx.Done():
			wc.release(w)
			return nil, 0, ctx.Err()
		}
		if w.err == nil {
			return w, start, nil
		}
		wc.release(w)
		if fetch || try > 0 {
			return nil, 0, w.err
		}
	}
}

// claim returns the cache's window for key, with a reference for the
// caller, and whether the caller must fetch it (a new window, not ready
// yet). read says a reader wants it now.
func (wc *windowCache) claim(key windowKey, read bool) (*window, bool) {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	wc.tick++
	if w, ok := wc.m[key]; ok {
		w.used = wc.tick
		w.read = w.read || read
		w.refs++
		return w, false
	}
	wc.evictLocked()
	w := &window{ready: make(chan struct{}), used: wc.tick, read: read, refs: 2}
	wc.m[key] = w
	return w, true
}

// release drops a reference to w; the last one gives its buffer back.
func (wc *windowCache) release(w *window) {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	wc.releaseLocked(w)
}

func (wc *windowCache) releaseLocked(w *window) {
	if w.refs--; w.refs == 0 && w.buf != nil {
		w.data = nil
		windowBufs.Put(w.buf)
		w.buf = nil
	}
}

// dropLocked takes w out of the cache, with the cache's reference.
func (wc *windowCache) dropLocked(key windowKey, w *window) {
	if wc.m[key] == w {
		delete(wc.m, key)
		wc.releaseLocked(w)
	}
}

// prefetch starts fetching, with ctx, the window of ref holding chunk
// offset off unless it is cached or coming; it reports whether it did.
// The fetch is counted in wg and gives back a token of slots when done.
func (wc *windowCache) prefetch(ctx context.Context, ref *pb.ChunkRef, off uint64, wg *sync.WaitGroup, slots chan struct{}) bool {
	key, start := windowOf(ref, off)
	w, fetch := wc.claim(key, false)
	if !fetch {
		wc.release(w)
		return false
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() { <-slots }()
		wc.fill(ctx, key, w, ref, start)
		wc.release(w)
	}()
	return true
}

// fill fetches a claimed window, into a pooled buffer if it is large; a
// failed fetch leaves the cache so the next read tries again.
func (wc *windowCache) fill(ctx context.Context, key windowKey, w *window, ref *pb.ChunkRef, start uint64) {
	length := uint64(0) // whole chunk
	size := ref.GetSize() - min(start, ref.GetSize())
	if ref.GetSize() > ChunkSize {
		length = min(ChunkSize, size)
		size = length
	}
	var dst []byte
	if size >= pooledWindow && size <= ChunkSize {
		w.buf = windowBufs.Get().(*[ChunkSize]byte)
		dst = w.buf[:size]
	}
	w.data, w.err = wc.c.getChunkData(ctx, ref, start, length, dst)
	if w.err != nil {
		wc.mu.Lock()
		wc.dropLocked(key, w)
		wc.mu.Unlock()
	}
	close(w.ready)
}

// has reports whether the window of ref holding off is cached or coming.
func (wc *windowCache) has(ref *pb.ChunkRef, off uint64) bool {
	key, _ := windowOf(ref, off)
	wc.mu.Lock()
	defer wc.mu.Unlock()
	_, ok := wc.m[key]
	return ok
}

// evictLocked makes room for one window by dropping ready ones: the least
// recently used of those a reader has used, else of those only prefetched
// (a sequential reader has yet to reach them, and they were claimed before
// the windows it read last).
func (wc *windowCache) evictLocked() {
	for len(wc.m) >= cacheWindows {
		var oldest windowKey
		var best *window
		for k, w := range wc.m {
			if isReady(w) && (best == nil || evictsBefore(w, best)) {
				oldest, best = k, w
			}
		}
		if best == nil {
			return // all in flight: let the cache grow briefly
		}
		wc.dropLocked(oldest, best)
	}
}

// clear drops every window (the file closed).
func (wc *windowCache) clear() {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	for k, w := range wc.m {
		wc.dropLocked(k, w)
	}
}

// evictsBefore orders windows for eviction: read before unread, then least
// recently used first.
func evictsBefore(a, b *window) bool {
	if a.read != b.read {
		return a.read
	}
	return a.used < b.used
}

func isReady(w *window) bool {
	select {
	case <-w.ready:
		return true
	default:
		return false
	}
}
