package namespace

import (
	"encoding/binary"
	"slices"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Chunk bookkeeping: 'k' id holds (refcount, ChunkRef) for chunks some file's
// layout references; refcount is the number of inodes referencing it. When
// it drops to zero the chunk moves to the deletion queue 'q' id, which the
// chunk service drains (PendingChunkDeletes, then DropChunks). Chunks a
// site's store holds that none of these name (uploads never committed) are
// queued by SweepChunks, which also marks them 't' id so a late commit of
// one is refused.

func encodeChunk(b []byte, refs uint64, c *pb.ChunkRef) []byte {
	b = binary.AppendUvarint(b[:0], refs)
	b = binary.AppendUvarint(b, c.GetSize())
	b = appendBytes(b, c.GetSum())
	b = binary.AppendUvarint(b, uint64(len(c.GetSites())))
	for _, s := range c.GetSites() {
		b = appendStr(b, s)
	}
	return b
}

func decodeChunk(id string, v []byte) (*pb.ChunkRef, uint64, bool) {
	d := decoder{b: v}
	refs := d.uvarint()
	c := &pb.ChunkRef{Id: id, Size: d.uvarint(), Sum: d.bytes()}
	n := d.uvarint()
	if n > uint64(len(v)) {
		return nil, 0, false
	}
	for i := uint64(0); i < n && !d.bad; i++ {
		c.Sites = append(c.Sites, d.str())
	}
	if len(c.Sum) == 0 {
		c.Sum = nil
	}
	return c, refs, d.done()
}

// getChunk reads a referenced chunk's record; it must exist.
func (a *applier) getChunk(id string) (*pb.ChunkRef, uint64, error) {
	v, ok, err := a.tx.Get(chunkKey(a.kb, id))
	if err != nil {
		return nil, 0, err
	}
	c, refs, good := decodeChunk(id, v)
	if !ok || !good {
		return nil, 0, corrupt("chunk record " + id)
	}
	return c, refs, nil
}

// replaceLayout makes ext n's layout, moving chunk references: chunks that
// gain n are counted up (created from brought if new), chunks that lose it
// counted down (queued for deletion at zero), and brought chunks the layout
// does not use are queued at once. Iteration is over sorted IDs.
func (a *applier) replaceLayout(n *inode, ext []*pb.Extent, brought map[string]*pb.ChunkRef) error {
	old, err := readLayout(a.tx, a.kb, n)
	if err != nil {
		return err
	}
	oldIDs, newIDs := chunkIDs(old), chunkIDs(ext)
	for _, id := range subtract(newIDs, oldIDs) {
		if err := a.refChunk(id, brought[id], +1); err != nil {
			return err
		}
	}
	for _, id := range subtract(oldIDs, newIDs) {
		if err := a.refChunk(id, nil, -1); err != nil {
			return err
		}
	}
	if err := a.queueUnused(brought, newIDs, oldIDs); err != nil {
		return err
	}
	return a.writeLayout(n, ext)
}

func (a *applier) writeLayout(n *inode, ext []*pb.Extent) error {
	if len(ext) == 0 {
		if n.flags&flagLayout == 0 {
			return nil
		}
		n.flags &^= flagLayout
		return a.tx.Delete(layoutKey(a.kb, n.ino))
	}
	n.flags |= flagLayout
	a.vb = encodeLayout(a.vb, ext)
	return a.tx.Put(layoutKey(a.kb, n.ino), a.vb)
}

// refChunk adds d to a chunk's refcount; a chunk without a record must be
// a brought one gaining its first reference.
func (a *applier) refChunk(id string, brought *pb.ChunkRef, d int) error {
	v, ok, err := a.tx.Get(chunkKey(a.kb, id))
	if err != nil {
		return err
	}
	ref, refs := brought, uint64(0)
	if ok {
		var good bool
		if ref, refs, good = decodeChunk(id, v); !good {
			return corrupt("chunk record " + id)
		}
	} else if brought == nil || d < 0 {
		return corrupt("missing chunk record " + id)
	}
	refs = uint64(int64(refs) + int64(d))
	if refs == 0 {
		return a.queueChunk(ref)
	}
	a.vb = encodeChunk(a.vb, refs, ref)
	return a.tx.Put(chunkKey(a.kb, id), a.vb)
}

func (a *applier) queueChunk(ref *pb.ChunkRef) error {
	if err := a.tx.Delete(chunkKey(a.kb, ref.GetId())); err != nil {
		return err
	}
	a.vb = encodeChunk(a.vb, 0, ref)
	return a.tx.Put(queueKey(a.kb, ref.GetId()), a.vb)
}

// queueUnused queues brought chunks that end up referenced by nothing.
func (a *applier) queueUnused(brought map[string]*pb.ChunkRef, used, had []string) error {
	ids := make([]string, 0, len(brought))
	for id := range brought {
		ids = append(ids, id)
	}
	for _, id := range subtract(subtract(sorted(ids), used), had) {
		a.vb = encodeChunk(a.vb, 0, brought[id])
		if err := a.tx.Put(queueKey(a.kb, id), a.vb); err != nil {
			return err
		}
	}
	return nil
}

// subtract returns the elements of sorted a not in sorted b.
func subtract(a, b []string) []string {
	var out []string
	for _, x := range a {
		for len(b) > 0 && b[0] < x {
			b = b[1:]
		}
		if len(b) == 0 || b[0] != x {
			out = append(out, x)
		}
	}
	return out
}

func (a *applier) dropChunks(op *pb.DropChunks) (*pb.Result, error) {
	if !a.c.root() {
		return nil, fail(pb.Errno_EPERM, "only the system drops chunks")
	}
	for _, id := range sorted(append([]string(nil), op.GetIds()...)) {
		if err := a.tx.Delete(queueKey(a.kb, id)); err != nil {
			return nil, err
		}
	}
	return &pb.Result{}, nil
}

// MaxSweepIDs bounds the chunk IDs of one SweepChunks.
const MaxSweepIDs = 1024

// sweepChunks queues the IDs the metadata does not know for deletion at
// op's site and marks them swept (chunkFree refuses them from then on).
// Everything is checked before anything is written.
func (a *applier) sweepChunks(op *pb.SweepChunks) (*pb.Result, error) {
	switch {
	case !a.c.root():
		return nil, fail(pb.Errno_EPERM, "only the system sweeps chunks")
	case op.GetSite() == "" || len(op.GetSite()) > MaxSiteName:
		return nil, fail(pb.Errno_EINVAL, "sweep needs a site name of 1 to 255 bytes")
	case len(op.GetIds()) > MaxSweepIDs:
		return nil, fail(pb.Errno_E2BIG, "too many chunks in one sweep")
	}
	ids := slices.Compact(sorted(append([]string(nil), op.GetIds()...)))
	for _, id := range ids {
		if id == "" || len(id) > MaxChunkID {
			return nil, fail(pb.Errno_EINVAL, "bad chunk id")
		}
	}
	unknown, err := UnknownChunks(a.tx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range unknown {
		if err := a.tx.Put(sweptKey(a.kb, id), binary.BigEndian.AppendUint64(a.vb[:0], uint64(a.now))); err != nil {
			return nil, err
		}
		a.vb = encodeChunk(a.vb, 0, &pb.ChunkRef{Id: id, Sites: []string{op.GetSite()}})
		if err := a.tx.Put(queueKey(a.kb, id), a.vb); err != nil {
			return nil, err
		}
	}
	return &pb.Result{Count: uint64(len(unknown))}, nil
}

// UnknownChunks returns the ids that r knows neither in use, nor queued for
// deletion, nor swept: candidates for SweepChunks, which decides again.
func UnknownChunks(r Reader, ids []string) ([]string, error) {
	var out []string
	var kb []byte
	for _, id := range ids {
		known := false
		for _, key := range []func([]byte, string) []byte{chunkKey, queueKey, sweptKey} {
			kb = key(kb, id)
			_, ok, err := r.Get(kb)
			if err != nil {
				return nil, err
			}
			if known = ok; known {
				break
			}
		}
		if !known {
			out = append(out, id)
		}
	}
	return out, nil
}

// GetLayout returns a regular file's attributes, extents and the records
// of the chunks they reference (in order of first use).
func GetLayout(r Reader, ino uint64) (*pb.Attr, []*pb.Extent, []*pb.ChunkRef, error) {
	n, err := mustInode(r, nil, Ino(ino))
	if err == nil && !isReg(n.mode) {
		err = fail(pb.Errno_EINVAL, "not a regular file")
		if isDir(n.mode) {
			err = fail(pb.Errno_EISDIR, "is a directory")
		}
	}
	if err != nil {
		return nil, nil, nil, withOp(err, "getlayout")
	}
	ext, err := readLayout(r, nil, &n)
	if err != nil {
		return nil, nil, nil, err
	}
	var refs []*pb.ChunkRef
	seen := map[string]bool{}
	for _, e := range ext {
		if e.Chunk == "" || seen[e.Chunk] {
			continue
		}
		seen[e.Chunk] = true
		v, ok, err := r.Get(chunkKey(nil, e.Chunk))
		if err != nil {
			return nil, nil, nil, err
		}
		c, _, good := decodeChunk(e.Chunk, v)
		if !ok || !good {
			return nil, nil, nil, corrupt("chunk record " + e.Chunk)
		}
		refs = append(refs, c)
	}
	return n.attr(), ext, refs, nil
}

// PendingChunkDeletes lists up to limit chunks queued for deletion (all
// when limit <= 0) whose IDs sort after after ("": from the first), in ID
// order.
func PendingChunkDeletes(r Reader, after string, limit int) ([]*pb.ChunkRef, error) {
	var out []*pb.ChunkRef
	bad := false
	from := []byte{pfxQueue}
	if after != "" {
		from = append(append(from, after...), 0) // the least key past after's
	}
	err := r.Scan(from, []byte{pfxQueue + 1}, func(k, v []byte) bool {
		c, _, ok := decodeChunk(string(k[1:]), v)
		if !ok {
			bad = true
			return false
		}
		out = append(out, c)
		return limit <= 0 || len(out) < limit
	})
	if err == nil && bad {
		err = corrupt("queued chunk record")
	}
	return out, err
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}
