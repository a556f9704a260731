package namespace

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/geomds/geomds/proto/extents"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Layout limits.
const (
	MaxExtents     = extents.Max
	MaxInlineBytes = 64 << 10 // inline data per file
	MaxChunkID     = 255
)

func encodeLayout(b []byte, ext []*pb.Extent) []byte {
	b = append(b[:0], 1)
	b = binary.AppendUvarint(b, uint64(len(ext)))
	for _, e := range ext {
		b = binary.AppendUvarint(b, e.Offset)
		b = binary.AppendUvarint(b, e.Length)
		b = appendStr(b, e.Chunk)
		b = binary.AppendUvarint(b, e.ChunkOffset)
		b = appendBytes(b, e.Inline)
	}
	return b
}

func decodeLayout(v []byte) ([]*pb.Extent, bool) {
	d := decoder{b: v}
	if d.u8() != 1 {
		return nil, false
	}
	n := d.uvarint()
	if n > MaxExtents {
		return nil, false
	}
	ext := make([]*pb.Extent, 0, n)
	for i := uint64(0); i < n && !d.bad; i++ {
		e := &pb.Extent{Offset: d.uvarint(), Length: d.uvarint(), Chunk: d.str(), ChunkOffset: d.uvarint()}
		if in := d.bytes(); len(in) > 0 {
			e.Inline = in
		}
		ext = append(ext, e)
	}
	return ext, d.done()
}

func readLayout(r Reader, kb []byte, n *inode) ([]*pb.Extent, error) {
	if n.flags&flagLayout == 0 {
		return nil, nil
	}
	v, ok, err := r.Get(layoutKey(kb, n.ino))
	if err != nil {
		return nil, err
	}
	ext, good := decodeLayout(v)
	if !ok || !good {
		return nil, corrupt("layout record")
	}
	return ext, nil
}

// chunkIDs returns the distinct chunk IDs of ext, sorted.
func chunkIDs(ext []*pb.Extent) []string {
	var ids []string
	for _, e := range ext {
		if e.Chunk != "" {
			ids = append(ids, e.Chunk)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

func (a *applier) setLayout(op *pb.SetLayout) (*pb.Result, error) {
	n, err := a.getInode(Ino(op.GetIno()))
	if err != nil {
		return nil, err
	}
	if err := a.checkWrite(&n, op.GetHandle()); err != nil {
		return nil, err
	}
	old, err := readLayout(a.tx, a.kb, &n)
	if err != nil {
		return nil, err
	}
	brought, err := a.checkNewChunks(op.GetNewChunks(), chunkIDs(old))
	if err != nil {
		return nil, err
	}
	if err := a.checkExtents(op, brought, chunkIDs(old)); err != nil {
		return nil, err
	}
	if err := a.checkLayoutAttr(&n, op.GetAttr()); err != nil {
		return nil, err
	}
	ext, size := op.GetExtents(), op.GetSize()
	if op.GetMerge() {
		if ext, size, err = mergeLayout(old, n.size, op); err != nil {
			return nil, err
		}
	}
	if err := a.replaceLayout(&n, ext, brought); err != nil {
		return nil, err
	}
	a.resizeCount(&n, size)
	n.size = size
	n.mtime, n.ctime = a.now, a.now
	a.killPrivs(&n)
	if attr := op.GetAttr(); attr != nil {
		if err := a.applySetAttr(&n, attr); err != nil {
			return nil, err
		}
	}
	return attrResult(&n), a.putInode(&n)
}

// mergeLayout lays a merging SetLayout's writes over the file's layout old
// (size cur), cut first at op.cut if set, and returns the new layout and
// size (see SetLayout in command.proto). op's extents are checked already;
// the result is bounded as a whole layout is.
func mergeLayout(old []*pb.Extent, cur uint64, op *pb.SetLayout) ([]*pb.Extent, uint64, error) {
	ext, size := old, cur
	if op.Cut != nil {
		ext, size = extents.Punch(old, op.GetCut(), math.MaxUint64), op.GetSize()
	}
	var inline uint64
	for _, w := range op.GetExtents() {
		ext = extents.Place(ext, w)
		size = max(size, w.GetOffset()+w.GetLength())
	}
	ext = extents.Coalesce(ext)
	for _, e := range ext {
		inline += uint64(len(e.GetInline()))
	}
	if len(ext) > MaxExtents || inline > MaxInlineBytes {
		return nil, 0, fail(pb.Errno_EFBIG, "file too fragmented")
	}
	return ext, size, nil
}

// checkLayoutAttr checks the attribute change a SetLayout carries (if any)
// before anything is written: the same checks as a SetAttr's, on the inode
// as it is. The layout changes only size, times and the setuid bits, which
// none of those checks read. A size is the layout's to set.
func (a *applier) checkLayoutAttr(n *inode, op *pb.SetAttr) error {
	switch {
	case op == nil:
		return nil
	case op.GetValid()&^setAll != 0:
		return fail(pb.Errno_EINVAL, "unknown setattr bits")
	case op.GetValid()&setSize != 0:
		return fail(pb.Errno_EINVAL, "a layout's attribute change cannot set the size")
	case op.GetIno() != 0 && Ino(op.GetIno()) != n.ino || op.GetPath() != "":
		return fail(pb.Errno_EINVAL, "a layout's attribute change is for its own file")
	}
	if err := a.checkOwnership(n, op); err != nil {
		return err
	}
	return a.checkTimes(n, op.GetValid())
}

// checkWrite allows changing a regular file's contents: through a handle
// open for writing on it, or with write permission.
func (a *applier) checkWrite(n *inode, handle uint64) error {
	switch {
	case isDir(n.mode):
		return fail(pb.Errno_EISDIR, "is a directory")
	case !isReg(n.mode):
		return fail(pb.Errno_EINVAL, "not a regular file")
	case handle != 0:
		return a.handleFor(HandleID(handle), n.ino)
	}
	return a.c.access(n, mayWrite)
}

// checkNewChunks validates the chunks a SetLayout brings and returns them
// by ID. A chunk the file already has may be brought again (a retried
// upload); one that belongs to another file or awaits deletion may not.
func (a *applier) checkNewChunks(refs []*pb.ChunkRef, have []string) (map[string]*pb.ChunkRef, error) {
	brought := make(map[string]*pb.ChunkRef, len(refs))
	for _, c := range refs {
		switch {
		case c.GetId() == "" || len(c.GetId()) > MaxChunkID:
			return nil, fail(pb.Errno_EINVAL, "bad chunk id")
		case brought[c.GetId()] != nil:
			return nil, fail(pb.Errno_EINVAL, "chunk brought twice")
		}
		brought[c.GetId()] = c
		if _, dup := slices.BinarySearch(have, c.GetId()); dup {
			continue
		}
		if err := a.chunkFree(c.GetId()); err != nil {
			return nil, err
		}
	}
	return brought, nil
}

// chunkFree rejects a new chunk ID that is in use, queued for deletion or
// swept as never committed.
func (a *applier) chunkFree(id string) error {
	if _, ok, err := a.tx.Get(sweptKey(a.kb, id)); err != nil || ok {
		return orFail(err, pb.Errno_ESTALE, "chunk was swept: it stayed uncommitted past the sweep's grace period; write the data again")
	}
	if _, ok, err := a.tx.Get(queueKey(a.kb, id)); err != nil || ok {
		return orFail(err, pb.Errno_EBUSY, "chunk is queued for deletion")
	}
	if _, ok, err := a.tx.Get(chunkKey(a.kb, id)); err != nil || ok {
		return orFail(err, pb.Errno_EEXIST, "chunk belongs to another file")
	}
	return nil
}

// checkExtents validates a new layout: ordered, non-overlapping extents
// inside the file, each either inline or in a chunk the layout may use.
func (a *applier) checkExtents(op *pb.SetLayout, brought map[string]*pb.ChunkRef, have []string) error {
	ext := op.GetExtents()
	if op.GetSize() > maxFileSize || len(ext) > MaxExtents {
		return fail(pb.Errno_EFBIG, "file too large")
	}
	var end, inline uint64
	for _, e := range ext {
		if e.GetLength() == 0 || e.GetOffset() < end || e.GetOffset()+e.GetLength() < e.GetOffset() ||
			e.GetOffset()+e.GetLength() > op.GetSize() {
			return fail(pb.Errno_EINVAL, "extents must be ordered, non-empty, disjoint and within size")
		}
		end = e.GetOffset() + e.GetLength()
		if err := a.checkExtentData(e, brought, have); err != nil {
			return err
		}
		inline += uint64(len(e.GetInline()))
	}
	if inline > MaxInlineBytes {
		return fail(pb.Errno_EFBIG, "too much inline data")
	}
	return nil
}

func (a *applier) checkExtentData(e *pb.Extent, brought map[string]*pb.ChunkRef, have []string) error {
	if e.GetChunk() == "" {
		if uint64(len(e.GetInline())) != e.GetLength() || e.GetChunkOffset() != 0 {
			return fail(pb.Errno_EINVAL, "inline extent length mismatch")
		}
		return nil
	}
	if len(e.GetInline()) != 0 {
		return fail(pb.Errno_EINVAL, "extent has both chunk and inline data")
	}
	ref := brought[e.GetChunk()]
	if ref == nil {
		if _, ok := slices.BinarySearch(have, e.GetChunk()); !ok {
			return fail(pb.Errno_EINVAL, "extent references a chunk the file does not have")
		}
		var err error
		if ref, _, err = a.getChunk(e.GetChunk()); err != nil {
			return err
		}
	}
	end := e.GetChunkOffset() + e.GetLength()
	if ref.GetSize() > 0 && (end < e.GetChunkOffset() || end > ref.GetSize()) {
		return fail(pb.Errno_EINVAL, "extent past the end of its chunk")
	}
	return nil
}

// truncate sets n's size, cutting its layout when it shrinks. The caller
// stamps times and writes n.
func (a *applier) truncate(n *inode, size uint64) error {
	if size < n.size && n.flags&flagLayout != 0 {
		ext, err := readLayout(a.tx, a.kb, n)
		if err != nil {
			return err
		}
		if err := a.replaceLayout(n, extents.Punch(ext, size, math.MaxUint64), nil); err != nil {
			return err
		}
	}
	a.resizeCount(n, size)
	n.size = size
	n.mtime, n.ctime = a.now, a.now
	return nil
}
