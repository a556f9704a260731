package client

import (
	"context"
	"math"
	"sync"
	"sync/atomic"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

const (
	// InlineMax is the largest file whose contents are kept inline in its
	// layout instead of in chunks.
	InlineMax = 4 << 10
	// maxBuffered bounds a file's unsynced bytes: past it every buffered
	// write is uploaded, even pieces smaller than a chunk.
	maxBuffered = 4 * ChunkSize
)

// content is the state of one open inode shared by the Files of one Open
// (and its Dups): the layout as last loaded or committed, the chunks
// uploaded since, and the unsynced writes.
type content struct {
	c     *Client
	ino   uint64
	cache *windowCache

	bg          context.Context // prefetches; ended when the last File closes
	stopBG      context.CancelFunc
	prefetching sync.WaitGroup
	prefetchOn  atomic.Bool // one prefetch at a time

	mu      sync.Mutex // guards everything below; held across uploads and commits
	loaded  bool       // layout, refs and size reflect the metadata (plus our writes)
	size    int64
	layout  []*pb.Extent            // ordered, disjoint
	refs    map[string]*pb.ChunkRef // records of the chunks layout and brought use
	brought []*pb.ChunkRef          // uploaded since the last commit, for SetLayout.new_chunks
	segs    segments                // unsynced writes, over layout
	dirty   bool                    // differs from the last commit
	files   map[*File]bool          // open Files sharing this content
}

// newContent returns the content of ino as of attr: a file of size 0 has no
// layout to load.
func newContent(c *Client, attr *pb.Attr) *content {
	bg, stop := context.WithCancel(context.Background())
	cn := &content{c: c, ino: attr.GetIno(), cache: newWindowCache(c), bg: bg, stopBG: stop,
		refs: make(map[string]*pb.ChunkRef), files: make(map[*File]bool)}
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
// holes, inline data, unsynced writes) and returns the chunk pieces left.
func (cn *content) planLocked(dst []byte, off int64) ([]piece, error) {
	clear(dst)
	end := off + int64(len(dst))
	ext := punchSegments(overlapping(cn.layout, uint64(off), uint64(end)), cn.segs, off, end)
	var pieces []piece
	for _, e := range ext {
		d := dst[int64(e.GetOffset())-off : int64(extentEnd(e))-off]
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
	for _, g := range cn.segs {
		if g.end() > off && g.off < end {
			from, to := max(g.off, off), min(g.end(), end)
			copy(dst[from-off:to-off], g.data[from-g.off:to-g.off])
		}
	}
	return pieces, nil
}

// fetch copies the pieces' bytes from their chunks.
func (cn *content) fetch(ctx context.Context, pieces []piece) error {
	for _, p := range pieces {
		dst, off := p.dst, p.off
		for len(dst) > 0 {
			data, start, err := cn.cache.get(ctx, p.ref, off)
			if err != nil {
				return err
			}
			if off-start >= uint64(len(data)) {
				return &Error{Errno: pb.Errno_EIO, Op: "read", Path: "chunk " + p.ref.GetId(), Msg: "extent past the end of its chunk"}
			}
			n := copy(dst, data[off-start:])
			dst, off = dst[n:], off+uint64(n)
		}
	}
	return nil
}

// prefetch fetches, in the background, the chunk windows that hold the
// ChunkSize bytes after off, so a sequential reader finds them cached.
func (cn *content) prefetch(off int64) {
	if !cn.prefetchOn.CompareAndSwap(false, true) {
		return
	}
	todo := cn.uncachedAfter(off)
	if len(todo) == 0 || cn.bg.Err() != nil {
		cn.prefetchOn.Store(false)
		return
	}
	cn.prefetching.Add(1)
	go func() {
		defer cn.prefetching.Done()
		defer cn.prefetchOn.Store(false)
		for _, p := range todo {
			if _, _, err := cn.cache.get(cn.bg, p.ref, p.off); err != nil {
				return // a failure shows again on the demand read
			}
		}
	}()
}

// uncachedAfter lists the chunk places of the ChunkSize bytes after off
// whose windows are not cached.
func (cn *content) uncachedAfter(off int64) []piece {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	end := min(off+ChunkSize, cn.size)
	if off >= end {
		return nil
	}
	var todo []piece
	for _, e := range punchSegments(overlapping(cn.layout, uint64(off), uint64(end)), cn.segs, off, end) {
		if ref := cn.refs[e.GetChunk()]; ref != nil && !cn.cache.has(ref, e.GetChunkOffset()) {
			todo = append(todo, piece{ref: ref, off: e.GetChunkOffset()})
		}
	}
	return todo
}

// writeLocked buffers p at off and uploads the chunks it completes.
func (cn *content) writeLocked(ctx context.Context, p []byte, off int64) error {
	if off > math.MaxInt64-int64(len(p)) {
		return &Error{Errno: pb.Errno_EFBIG, Op: "write", Path: inoString(cn.ino), Msg: "file too large"}
	}
	cn.segs = cn.segs.write(p, off)
	cn.size = max(cn.size, off+int64(len(p)))
	cn.dirty = true
	if err := cn.flushFullLocked(ctx); err != nil {
		return err
	}
	if cn.segs.bytes() > maxBuffered {
		return cn.flushAllLocked(ctx)
	}
	return nil
}

// flushFullLocked uploads every whole chunk's worth of buffered bytes.
func (cn *content) flushFullLocked(ctx context.Context) error {
	for i := 0; i < len(cn.segs); i++ {
		g := cn.segs[i]
		if len(g.data) < ChunkSize {
			continue
		}
		for len(g.data) >= ChunkSize {
			ext := []*pb.Extent{{Offset: uint64(g.off), Length: ChunkSize}}
			if err := cn.uploadLocked(ctx, g.data[:ChunkSize], ext); err != nil {
				cn.segs[i] = g
				return err
			}
			g = segment{off: g.off + ChunkSize, data: g.data[ChunkSize:]}
		}
		if len(g.data) == 0 {
			cn.segs = append(cn.segs[:i], cn.segs[i+1:]...)
			i--
			continue
		}
		// A fresh buffer for the tail, so appends fill it without keeping
		// the uploaded bytes alive.
		tail := make([]byte, len(g.data), ChunkSize)
		copy(tail, g.data)
		cn.segs[i] = segment{off: g.off, data: tail}
	}
	return nil
}

// flushAllLocked uploads every buffered byte. Small segments are packed
// together, up to ChunkSize per chunk, so scattered writes cost few chunks.
// On failure the segments stay: what was uploaded is in the layout too,
// and the segments (read first) hold the same bytes.
func (cn *content) flushAllLocked(ctx context.Context) error {
	pack := make([]byte, 0, min(cn.segs.bytes(), ChunkSize))
	var exts []*pb.Extent
	for _, g := range cn.segs {
		for data, off := g.data, g.off; len(data) > 0; {
			if len(pack) == ChunkSize {
				if err := cn.uploadLocked(ctx, pack, exts); err != nil {
					return err
				}
				pack, exts = pack[:0], nil // the upload kept no reference
			}
			n := min(len(data), ChunkSize-len(pack))
			exts = append(exts, &pb.Extent{Offset: uint64(off), Length: uint64(n), ChunkOffset: uint64(len(pack))})
			pack = append(pack, data[:n]...)
			data, off = data[n:], off+int64(n)
		}
	}
	if len(pack) > 0 {
		if err := cn.uploadLocked(ctx, pack, exts); err != nil {
			return err
		}
	}
	cn.segs = nil
	return nil
}

// uploadLocked stores data as a new chunk and puts exts (file ranges at
// chunk offsets in data) in the layout.
func (cn *content) uploadLocked(ctx context.Context, data []byte, exts []*pb.Extent) error {
	ref, err := cn.c.putChunk(ctx, data)
	if err != nil {
		return err
	}
	cn.refs[ref.GetId()] = ref
	cn.brought = append(cn.brought, ref)
	for _, e := range exts {
		e.Chunk = ref.GetId()
		cn.layout = place(cn.layout, e)
	}
	return nil
}

// truncateLocked sets the size, dropping what lies beyond it.
func (cn *content) truncateLocked(size int64) {
	if size < cn.size {
		cn.segs = cn.segs.cut(size)
		cn.layout = punch(cn.layout, uint64(size), math.MaxUint64)
	}
	cn.size = size
	cn.dirty = true
}

// syncLocked commits the contents, when they changed, with one SetLayout:
// files up to InlineMax inline, larger ones after uploading what is still
// buffered. handle is a handle open for writing (0: the caller's
// permission decides). On failure everything stays buffered for a retry.
func (cn *content) syncLocked(ctx context.Context, handle uint64) error {
	if !cn.dirty {
		return nil
	}
	ext, err := cn.finalLayoutLocked(ctx)
	if err != nil {
		return err
	}
	_, err = cn.c.Mutate(ctx, &pb.Command{Op: &pb.Command_SetLayout{SetLayout: &pb.SetLayout{
		Ino: cn.ino, Size: uint64(cn.size), Extents: ext, NewChunks: cn.brought, Handle: handle}}})
	if err != nil {
		return withOp(err, "sync", inoString(cn.ino))
	}
	cn.layout, cn.segs, cn.brought, cn.dirty = ext, nil, nil, false
	used := chunkIDsOf(ext)
	for id := range cn.refs {
		if !used[id] {
			delete(cn.refs, id)
		}
	}
	return nil
}

// finalLayoutLocked returns the layout to commit: one inline extent for a
// small file, else the layout with every buffered byte uploaded.
func (cn *content) finalLayoutLocked(ctx context.Context) ([]*pb.Extent, error) {
	if cn.size > InlineMax {
		if err := cn.flushAllLocked(ctx); err != nil {
			return nil, err
		}
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
// committed. Uploaded chunks stay in brought, so the next commit hands
// them to the metadata for deletion.
func (cn *content) resetLocked() {
	cn.size, cn.layout, cn.segs, cn.loaded = 0, nil, nil, true
	cn.dirty = len(cn.brought) > 0
}

// stop ends background work once no File uses the content.
func (cn *content) stop() {
	cn.stopBG()
	cn.prefetching.Wait()
	cn.cache.clear()
}
