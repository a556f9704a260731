package client

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/geomds/geomds/proto/extents"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/protobuf/proto"
)

const (
	// InlineMax is the largest file whose contents are kept inline in its
	// layout instead of in chunks.
	InlineMax = 4 << 10
)

// maxBufferedAt bounds a file's buffered bytes (not yet handed to an
// upload) while its writer is at off: past it every buffered write is
// uploaded, even pieces smaller than a chunk. It holds two of the chunks
// cut there, so a sequential writer fills one while the last goes. Uploads
// hold at most uploadDepth chunks more.
func maxBufferedAt(off int64) int {
	return max(4*ChunkSize, 2*chunkSizeAt(off))
}

// content is the state of one open inode shared by the Files of one Open
// (and its Dups): the layout as last loaded or committed, the chunks
// uploaded since, and the unsynced writes.
type content struct {
	c     *Client
	ino   uint64
	cache *windowCache

	bg          context.Context // prefetches and uploads; ended when the last File closes
	stopBG      context.CancelFunc
	prefetching sync.WaitGroup
	prefetchers chan struct{} // a token per running prefetch: at most cap of them
	prefetchAt  atomic.Int64  // 1 + the file window (off/ChunkSize) last scanned for prefetches
	uploading   sync.WaitGroup
	put         func(ctx context.Context, id string, data []byte) (*pb.ChunkRef, error) // stores a chunk

	mu      sync.Mutex // guards everything below; held across commits and waits for uploads
	loaded  bool       // layout, refs and size reflect the metadata (plus our writes)
	size    int64
	layout  []*pb.Extent            // ordered, disjoint
	refs    map[string]*pb.ChunkRef // records of the chunks layout and brought use
	brought []*pb.ChunkRef          // uploaded since the last commit, for SetLayout.new_chunks
	uploads []*upload               // chunks being stored, oldest first, over layout (file_upload.go)
	segs    segments                // unsynced writes, over layout and uploads
	seqEnd  int64                   // where the last write ended, to spot sequential ones
	dirty   bool                    // differs from the last commit
	wrote   spans                   // ranges written since the last commit
	cutAt   int64                   // smallest size truncated to since the last commit; -1: none
	files   map[*File]bool          // open Files sharing this content
	// commitTimer, armed by the first upload since the last commit, runs
	// autoCommit Config.CommitUploadsAfter later; commitCtx holds the values
	// (the caller's identity) of the write that armed it.
	commitTimer *time.Timer
	commitCtx   context.Context
}

// newContent returns the content of ino as of attr: a file of size 0 has no
// layout to load.
func newContent(c *Client, attr *pb.Attr) *content {
	bg, stop := context.WithCancel(context.Background())
	cn := &content{c: c, ino: attr.GetIno(), cache: newWindowCache(c), bg: bg, stopBG: stop,
		prefetchers: make(chan struct{}, prefetchDepth), put: c.putChunkAs,
		refs: make(map[string]*pb.ChunkRef), files: make(map[*File]bool), cutAt: -1}
	cn.loaded = attr.GetSize() == 0
	return cn
}

// loadLocked fetches the layout unless it is loaded.
func (cn *content) loadLocked(ctx context.Context) error {
	if cn.loaded {
		return nil
	}
	r, err := cn.c.GetLayout(ctx, cn.ino)
	if err != nil {
		return err
	}
	cn.setLayoutLocked(r.GetAttr().GetSize(), r.GetExtents(), r.GetChunks())
	return nil
}

func (cn *content) setLayoutLocked(size uint64, ext []*pb.Extent, refs []*pb.ChunkRef) {
	cn.size, cn.layout, cn.loaded = int64(size), ext, true
	for _, r := range refs {
		cn.refs[r.GetId()] = r
	}
}

// piece is a part of a read served from a chunk: len(dst) bytes at chunk
// offset off.
type piece struct {
	dst []byte
	ref *pb.ChunkRef
	off uint64
}

// planLocked fills dst with the bytes at off that need no fetch (zeros for
// holes, inline data, uploads under way, unsynced writes) and returns the
// chunk pieces left.
func (cn *content) planLocked(dst []byte, off int64) ([]piece, error) {
	clear(dst)
	end := off + int64(len(dst))
	ext := cn.storedLocked(off, end)
	var pieces []piece
	for _, e := range ext {
		d := dst[int64(e.GetOffset())-off : int64(extents.End(e))-off]
		if e.GetChunk() == "" {
			copy(d, e.GetInline())
			continue
		}
		ref := cn.refs[e.GetChunk()]
		if ref == nil {
			return nil, &Error{Errno: pb.Errno_EIO, Op: "read", Path: inoString(cn.ino), Msg: "layout names unknown chunk " + e.GetChunk()}
		}
		pieces = append(pieces, piece{dst: d, ref: ref, off: e.GetChunkOffset()})
	}
	copyUploads(dst, off, cn.uploads)
	for _, g := range cn.segs {
		if g.end() > off && g.off < end {
			from, to := max(g.off, off), min(g.end(), end)
			copy(dst[from-off:to-off], g.data[from-g.off:to-g.off])
		}
	}
	return pieces, nil
}

// storedLocked returns the layout's extents over [off, end) that are read
// from the store: those that neither an upload nor a buffered write covers.
func (cn *content) storedLocked(off, end int64) []*pb.Extent {
	ext := extents.Overlapping(cn.layout, uint64(off), uint64(end))
	return punchSegments(punchUploads(ext, cn.uploads, off, end), cn.segs, off, end)
}

// fetch copies the pieces' bytes from their chunks.
func (cn *content) fetch(ctx context.Context, pieces []piece) error {
	for _, p := range pieces {
		dst, off := p.dst, p.off
		for len(dst) > 0 {
			n, err := cn.copyFromWindow(ctx, dst, p.ref, off)
			if err != nil {
				return err
			}
			dst, off = dst[n:], off+uint64(n)
		}
	}
	return nil
}

// copyFromWindow copies into dst the bytes of ref from chunk offset off on,
// as far as the window holding off goes, and returns how many it copied.
func (cn *content) copyFromWindow(ctx context.Context, dst []byte, ref *pb.ChunkRef, off uint64) (int, error) {
	w, start, err := cn.cache.get(ctx, ref, off)
	if err != nil {
		return 0, err
	}
	defer cn.cache.release(w)
	if off-start >= w.data.size() {
		return 0, &Error{Errno: pb.Errno_EIO, Op: "read", Path: "chunk " + ref.GetId(), Msg: "extent past the end of its chunk"}
	}
	return w.data.copyAt(dst, off-start), nil
}

// prefetch starts fetching, in the background, the chunk windows that
// hold the readAhead bytes after off and are neither cached nor coming, so
// a sequential reader finds them cached. They are fetched in parallel, at
// most prefetchDepth at a time per file; a window that finds no free slot
// is left to a later read's prefetch. The kernel reads 128 KiB at a time,
// so the windows ahead are scanned once per ChunkSize read, not per read.
func (cn *content) prefetch(off int64) {
	if at := off/ChunkSize + 1; cn.prefetchAt.Swap(at) == at || cn.bg.Err() != nil {
		return
	}
	for _, p := range cn.uncachedAfter(off) {
		select {
		case cn.prefetchers <- struct{}{}:
		default:
			return
		}
		if !cn.cache.prefetch(cn.bg, p.ref, p.off, &cn.prefetching, cn.prefetchers) {
			<-cn.prefetchers // cached or coming after all
		}
	}
}

// uncachedAfter lists the chunk places of the readAhead bytes after off
// whose windows are not cached.
func (cn *content) uncachedAfter(off int64) []piece {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	end := min(off+readAhead, cn.size)
	if off >= end {
		return nil
	}
	var todo []piece
	for _, e := range cn.storedLocked(off, end) {
		if ref := cn.refs[e.GetChunk()]; ref != nil && !cn.cache.has(ref, e.GetChunkOffset()) {
			todo = append(todo, piece{ref: ref, off: e.GetChunkOffset()})
		}
	}
	return todo
}

// writeLocked buffers p at off and starts uploading the chunks it fills.
func (cn *content) writeLocked(ctx context.Context, p []byte, off int64) error {
	if off > math.MaxInt64-int64(len(p)) {
		return &Error{Errno: pb.Errno_EFBIG, Op: "write", Path: inoString(cn.ino), Msg: "file too large"}
	}
	cn.reapLocked()
	if len(cn.layout) > extents.Max {
		// The commit would be refused: say so at write(2), not at close.
		return &Error{Errno: pb.Errno_EFBIG, Op: "write", Path: inoString(cn.ino),
			Msg: fmt.Sprintf("file too fragmented: its layout passed %d extents; truncate it, or write it again in order", extents.Max)}
	}
	cn.size = max(cn.size, off+int64(len(p)))
	cn.dirty = true
	cn.wrote = cn.wrote.add(off, off+int64(len(p)))
	for len(p) > 0 {
		n := cn.appendLocked(p, off)
		if n == 0 {
			cn.segs = cn.segs.write(p, off)
			n = len(p)
		}
		p, off = p[n:], off+int64(n)
		cn.seqEnd = off
		if err := cn.flushFullLocked(ctx); err != nil {
			return err
		}
	}
	if cn.segs.bytes() > maxBufferedAt(cn.seqEnd) {
		return cn.flushAllLocked(ctx)
	}
	return nil
}

// smallSegment is the capacity of a sequential writer's first buffer when
// its first write is smaller.
const smallSegment = 64 << 10

// appendLocked is a sequential writer's path: when off is the end of the
// last segment, as much of p as its spare capacity takes goes there; when
// the last write ended at off but its bytes are gone to an upload, a new
// segment with a whole chunk's capacity starts there. So each byte is
// copied once, into the buffer that leaves for upload when it holds a
// chunk. Only a write continuing the last one gets a new chunk buffer, so
// scattered small writes cannot hold a chunk's capacity each. A small first
// write gets a small buffer, grown to a chunk's capacity (one copy) when
// the writer goes on past it: most files are small, and zeroing 4 MiB for
// each cost more than writing it (tar of many small files). It returns
// how many bytes it took (0: not this path).
func (cn *content) appendLocked(p []byte, off int64) int {
	n := len(cn.segs)
	if n == 0 || cn.segs[n-1].end() < off {
		if off != cn.seqEnd {
			return 0
		}
		size := chunkSizeAt(off)
		if len(p) < smallSegment {
			size = smallSegment
		}
		cn.segs = append(cn.segs, segment{off: off, data: make([]byte, 0, size)})
		n++
	}
	last := &cn.segs[n-1]
	chunk := chunkSizeAt(last.off)
	if last.end() != off || len(last.data) >= chunk {
		return 0
	}
	if len(last.data) == cap(last.data) {
		if off != cn.seqEnd {
			return 0
		}
		last.data = append(make([]byte, 0, chunk), last.data...)
	}
	k := min(len(p), cap(last.data)-len(last.data))
	last.data = append(last.data, p[:k]...)
	return k
}

// flushFullLocked starts uploading every whole chunk's worth of buffered
// bytes.
func (cn *content) flushFullLocked(ctx context.Context) error {
	for i := 0; i < len(cn.segs); i++ {
		g := cn.segs[i]
		if len(g.data) < chunkSizeAt(g.off) {
			continue
		}
		for size := chunkSizeAt(g.off); len(g.data) >= size; size = chunkSizeAt(g.off) {
			ext := []*pb.Extent{{Offset: uint64(g.off), Length: uint64(size)}}
			if err := cn.startUploadLocked(ctx, g.data[:size:size], ext); err != nil {
				cn.segs[i] = g
				return err
			}
			g = segment{off: g.off + int64(size), data: g.data[size:]}
		}
		if len(g.data) == 0 {
			cn.segs = append(cn.segs[:i], cn.segs[i+1:]...)
			i--
			continue
		}
		// A fresh buffer for the tail: the upload owns the bytes before it.
		cn.segs[i] = segment{off: g.off, data: append(make([]byte, 0, chunkSizeAt(g.off)), g.data...)}
	}
	return nil
}

// flushAllLocked starts uploading every buffered byte. Small segments are
// packed together, up to a chunk's size (chunkSizeAt the first) per chunk,
// so scattered writes cost few chunks. On failure the bytes not yet handed
// to an upload stay buffered.
func (cn *content) flushAllLocked(ctx context.Context) error {
	for len(cn.segs) > 0 {
		pack, exts, rest := packSegments(cn.segs)
		if err := cn.startUploadLocked(ctx, pack, exts); err != nil {
			return err
		}
		cn.segs = rest
	}
	return nil
}

// packSegments copies up to a chunk's size (chunkSizeAt the first
// segment) from the head of segs into a new buffer and returns it, the
// extents it holds, and the segments left (the first one possibly cut
// short; segs itself is not modified).
func packSegments(segs segments) ([]byte, []*pb.Extent, segments) {
	size := chunkSizeAt(segs[0].off)
	pack := make([]byte, 0, min(segs.bytes(), size))
	var exts []*pb.Extent
	for i, g := range segs {
		n := min(len(g.data), size-len(pack))
		exts = append(exts, &pb.Extent{Offset: uint64(g.off), Length: uint64(n), ChunkOffset: uint64(len(pack))})
		pack = append(pack, g.data[:n]...)
		if n < len(g.data) {
			cut := segment{off: g.off + int64(n), data: g.data[n:]}
			return pack, exts, slices.Concat(segments{cut}, segs[i+1:])
		}
		if len(pack) == size {
			return pack, exts, segs[i+1:]
		}
	}
	return pack, exts, nil
}

// truncateLocked sets the size, dropping what lies beyond it.
func (cn *content) truncateLocked(size int64) {
	if size < cn.size {
		cn.segs = cn.segs.cut(size)
		cn.cutUploadsLocked(size)
		cn.layout = extents.Punch(cn.layout, uint64(size), math.MaxUint64)
		cn.wrote = cn.wrote.cut(size)
	}
	if cn.cutAt < 0 || size < cn.cutAt {
		cn.cutAt = size
	}
	cn.size = size
	cn.dirty = true
}

// syncLocked commits the contents, when they changed, with one SetLayout:
// files up to InlineMax inline, larger ones after uploading what is still
// buffered. handle is a handle open for writing (0: the caller's
// permission decides). On failure everything stays buffered for a retry.
func (cn *content) syncLocked(ctx context.Context, handle uint64) error {
	_, err := cn.commitLocked(ctx, handle, nil)
	return err
}

// commitLocked commits the unsynced writes, with the attribute change attr
// (if not nil) in the same command, and returns the attributes it left
// (nil when nothing was dirty). The command carries only what this content
// wrote and the truncation it made, merged over the file as it is then
// (SetLayout.merge), so a writer at another client that committed since
// keeps its writes where this one did not write.
func (cn *content) commitLocked(ctx context.Context, handle uint64, attr *pb.SetAttr) (*pb.Attr, error) {
	if !cn.dirty {
		return nil, nil
	}
	ext, err := cn.finalLayoutLocked(ctx)
	if err != nil {
		return nil, err
	}
	op := &pb.SetLayout{Ino: cn.ino, Size: uint64(cn.size), Extents: cn.wrote.within(ext), Merge: true,
		NewChunks: cn.brought, Handle: handle, Attr: attr}
	if cn.cutAt >= 0 {
		op.Cut = proto.Uint64(uint64(cn.cutAt))
	}
	res, err := cn.c.Mutate(ctx, &pb.Command{Op: &pb.Command_SetLayout{SetLayout: op}})
	if ErrnoOf(err) == pb.Errno_ENOTSUP {
		// A member of the cluster runs a version without merges: commit
		// the whole layout, as that version does.
		op.Merge, op.Cut, op.Extents = false, nil, ext
		res, err = cn.c.Mutate(ctx, &pb.Command{Op: &pb.Command_SetLayout{SetLayout: op}})
	}
	if err != nil {
		return nil, withOp(err, "sync", inoString(cn.ino))
	}
	cn.layout, cn.segs, cn.brought, cn.dirty = ext, nil, nil, false
	cn.wrote, cn.cutAt = nil, -1
	if res.GetAttr().GetSize() != uint64(cn.size) {
		// Another writer changed the size since this content loaded the
		// layout: load the merged one before the next read or write.
		cn.loaded = false
	}
	cn.disarmCommitLocked()
	used := chunkIDsOf(ext)
	for id := range cn.refs {
		if !used[id] {
			delete(cn.refs, id)
		}
	}
	return res.GetAttr(), nil
}

// finalLayoutLocked returns the layout to commit, once every upload is in
// it: one inline extent for a small file, else the layout with every
// buffered byte uploaded.
func (cn *content) finalLayoutLocked(ctx context.Context) ([]*pb.Extent, error) {
	if cn.size > InlineMax {
		if err := cn.flushAllLocked(ctx); err != nil {
			return nil, err
		}
	}
	if err := cn.drainLocked(ctx); err != nil {
		return nil, err
	}
	if cn.size > InlineMax {
		return cn.layout, nil
	}
	if cn.size == 0 {
		return nil, nil
	}
	data := make([]byte, cn.size)
	pieces, err := cn.planLocked(data, 0)
	if err == nil {
		err = cn.fetch(ctx, pieces)
	}
	if err != nil {
		return nil, err
	}
	return []*pb.Extent{{Offset: 0, Length: uint64(cn.size), Inline: data}}, nil
}

// resetLocked makes the content what a truncating open left: empty and
// committed. Uploaded chunks stay in brought, and uploads under way will
// join them, so the next commit hands them to the metadata for deletion.
func (cn *content) resetLocked() {
	cn.cutUploadsLocked(0)
	cn.size, cn.layout, cn.segs, cn.loaded = 0, nil, nil, true
	cn.dirty = len(cn.brought) > 0 || len(cn.uploads) > 0
}

// stop ends background work once no File uses the content: prefetches and
// uploads still running are cancelled (a commit waits for its uploads, so
// these belong to no commit).
func (cn *content) stop() {
	cn.stopBG()
	cn.mu.Lock()
	cn.disarmCommitLocked()
	cn.mu.Unlock()
	cn.prefetching.Wait()
	cn.uploading.Wait()
	cn.cache.clear()
}

// armCommitLocked makes sure a commit follows an upload within
// Config.CommitUploadsAfter, even if the writer never syncs or closes.
func (cn *content) armCommitLocked(ctx context.Context) {
	if cn.commitTimer != nil {
		return
	}
	cn.commitCtx = context.WithoutCancel(ctx)
	cn.commitTimer = time.AfterFunc(cn.c.cfg.CommitUploadsAfter, cn.autoCommit)
}

func (cn *content) disarmCommitLocked() {
	if cn.commitTimer != nil {
		cn.commitTimer.Stop()
		cn.commitTimer, cn.commitCtx = nil, nil
	}
}

// autoCommit commits the file's writes as Sync would, with a handle open
// for writing if there is one. A failure is left for the writer's own
// Sync or Close to report; the timer is armed again.
func (cn *content) autoCommit() {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.commitTimer == nil || cn.bg.Err() != nil {
		return // disarmed, or the content stopped, after the timer fired
	}
	ctx, cancel := cn.backgroundCtx(cn.commitCtx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, cn.c.cfg.RequestTimeout)
	defer cancelT()
	armedBy := cn.commitCtx
	cn.commitTimer = nil
	if err := cn.syncLocked(ctx, cn.writeHandleLocked()); err != nil && cn.dirty {
		cn.armCommitLocked(armedBy)
	}
}

// writeHandleLocked returns the handle of an open File that may write, or
// 0 (the caller's permission then decides a commit).
func (cn *content) writeHandleLocked() uint64 {
	for f := range cn.files {
		if f.Writable() && f.handle != 0 {
			return f.handle
		}
	}
	return 0
}
