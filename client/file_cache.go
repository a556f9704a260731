package client

import (
	"context"
	"sync"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Reads fetch chunk data in windows of ChunkSize: a chunk no larger than
// that is one window, read whole and checked against its SHA-256; a larger
// chunk (written by another tool) is read window by window. Windows are
// kept in a small cache per open file, so the kernel's 128 KiB reads of a
// chunk cost one fetch, and sequential reads prefetch the next window.

// cacheWindows bounds a file's cached windows (each at most ChunkSize): the
// one being read, the one prefetched, and one more for readers that jump.
const cacheWindows = 3

type windowKey struct {
	chunk string
	index uint64
}

// window is a cached piece of a chunk; ready is closed once data or err
// is set.
type window struct {
	ready chan struct{}
	data  []byte
	err   error
	used  uint64 // cache tick of the last use, for eviction
}

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

// get returns the data of the window of ref that holds chunk offset off,
// and the window's start, fetching it unless cached. A window another
// reader (or a prefetch) failed to fetch is fetched again once.
func (wc *windowCache) get(ctx context.Context, ref *pb.ChunkRef, off uint64) ([]byte, uint64, error) {
	key, start := windowOf(ref, off)
	for try := 0; ; try++ {
		w, fetch := wc.claim(key)
		if fetch {
			wc.fill(ctx, key, w, ref, start)
		}
		select {
		case <-w.ready:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
		if w.err == nil || fetch || try > 0 {
			return w.data, start, w.err
		}
	}
}

// claim returns the cache's window for key, and whether the caller must
// fetch it (a new window, not ready yet).
func (wc *windowCache) claim(key windowKey) (*window, bool) {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	wc.tick++
	if w, ok := wc.m[key]; ok {
		w.used = wc.tick
		return w, false
	}
	wc.evictLocked()
	w := &window{ready: make(chan struct{}), used: wc.tick}
	wc.m[key] = w
	return w, true
}

// fill fetches a claimed window; a failed fetch leaves the cache so the
// next read tries again.
func (wc *windowCache) fill(ctx context.Context, key windowKey, w *window, ref *pb.ChunkRef, start uint64) {
	length := uint64(0) // whole chunk
	if ref.GetSize() > ChunkSize {
		length = min(ChunkSize, ref.GetSize()-start)
	}
	w.data, w.err = wc.c.getChunk(ctx, ref, start, length)
	if w.err != nil {
		wc.mu.Lock()
		if wc.m[key] == w {
			delete(wc.m, key)
		}
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

// evictLocked makes room for one window by dropping the least recently
// used ready ones.
func (wc *windowCache) evictLocked() {
	for len(wc.m) >= cacheWindows {
		var oldest windowKey
		var best *window
		for k, w := range wc.m {
			if isReady(w) && (best == nil || w.used < best.used) {
				oldest, best = k, w
			}
		}
		if best == nil {
			return // all in flight: let the cache grow briefly
		}
		delete(wc.m, oldest)
	}
}

// clear drops every window (the layout changed, or the file closed).
func (wc *windowCache) clear() {
	wc.mu.Lock()
	clear(wc.m)
	wc.mu.Unlock()
}

func isReady(w *window) bool {
	select {
	case <-w.ready:
		return true
	default:
		return false
	}
}
