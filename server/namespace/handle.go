package namespace

import (
	"encoding/binary"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// open(2) flag bits the namespace interprets.
const (
	oAccMode = 0o3
	oRdOnly  = 0o0
	oWrOnly  = 0o1
	oRdWr    = 0o2
	oTrunc   = 0o1000
)

// handleRow is an open handle: the inode it pins and its open flags.
type handleRow struct {
	client ClientID
	id     HandleID
	ino    Ino
	flags  uint32
}

func encodeHandle(b []byte, h *handleRow) []byte {
	b = binary.BigEndian.AppendUint64(b[:0], uint64(h.ino))
	return binary.BigEndian.AppendUint32(b, h.flags)
}

func decodeHandle(c ClientID, id HandleID, v []byte) (handleRow, bool) {
	d := decoder{b: v}
	h := handleRow{client: c, id: id, ino: Ino(d.u64()), flags: d.u32()}
	return h, d.done()
}

func getHandle(r Reader, kb []byte, c ClientID, id HandleID) (handleRow, bool, error) {
	v, ok, err := r.Get(handleKey(kb, c, id))
	if err != nil || !ok {
		return handleRow{}, false, err
	}
	h, good := decodeHandle(c, id, v)
	if !good {
		return handleRow{}, false, corrupt("handle record")
	}
	return h, true, nil
}

// accessMask is the permission an open with flags needs.
func accessMask(flags uint32) (uint32, error) {
	var m uint32
	switch flags & oAccMode {
	case oRdOnly:
		m = mayRead
	case oWrOnly:
		m = mayWrite
	case oRdWr:
		m = mayRead | mayWrite
	default:
		return 0, fail(pb.Errno_EINVAL, "bad access mode")
	}
	if flags&oTrunc != 0 {
		m |= mayWrite
	}
	return m, nil
}

// checkOpen validates opening n with flags by the caller.
func (a *applier) checkOpen(n *inode, flags uint32) error {
	if !a.sess.exists {
		return fail(pb.Errno_EINVAL, "open needs a client id")
	}
	mask, err := accessMask(flags)
	if err != nil {
		return err
	}
	switch {
	case n.nlink == 0:
		return fail(pb.Errno_ENOENT, "inode was removed")
	case isLnk(n.mode):
		return fail(pb.Errno_ELOOP, "open of a symbolic link")
	case isDir(n.mode) && mask&mayWrite != 0:
		return fail(pb.Errno_EISDIR, "is a directory")
	}
	return a.c.access(n, mask)
}

func (a *applier) open(op *pb.Open) (*pb.Result, error) {
	n, err := a.getInode(Ino(op.GetIno()))
	if err != nil {
		return nil, err
	}
	if err := a.checkOpen(&n, op.GetFlags()); err != nil {
		return nil, err
	}
	if op.GetFlags()&oTrunc != 0 && isReg(n.mode) {
		if err := a.truncate(&n, 0); err != nil {
			return nil, err
		}
	}
	h, err := a.newHandle(&n, op.GetFlags())
	if err != nil {
		return nil, err
	}
	if err := a.putInode(&n); err != nil {
		return nil, err
	}
	return &pb.Result{Attr: n.attr(), Handle: uint64(h)}, nil
}

// newHandle records a handle on n in the caller's session; the caller
// writes n back.
func (a *applier) newHandle(n *inode, flags uint32) (HandleID, error) {
	h := handleRow{client: a.sess.client, id: a.meta.nextHandle, ino: n.ino, flags: flags}
	a.meta.nextHandle++
	a.metaDirty = true
	n.open++
	a.vb = encodeHandle(a.vb, &h)
	return h.id, a.tx.Put(handleKey(a.kb, h.client, h.id), a.vb)
}

// MaxReleaseHandles is the most handles one Release may name (from
// command version 4).
const MaxReleaseHandles = maxSessionReleases

func (a *applier) release(op *pb.Release) (*pb.Result, error) {
	if a.cluster >= boundedSessionEndVersion && 1+len(op.GetMore()) > MaxReleaseHandles {
		return nil, fail(pb.Errno_E2BIG, "too many handles in one release")
	}
	released := 0
	for _, id := range append([]uint64{op.GetHandle()}, op.GetMore()...) {
		h, ok, err := getHandle(a.tx, a.kb, a.sess.client, HandleID(id))
		if err != nil {
			return nil, err
		}
		if !ok || !a.sess.exists {
			continue // gone already (released, or its session ended)
		}
		if err := a.releaseHandle(h); err != nil {
			return nil, err
		}
		released++
	}
	if released == 0 {
		return nil, fail(pb.Errno_EBADF, "no such handle")
	}
	return &pb.Result{}, nil
}

// releaseHandle removes h; the last handle of an unlinked inode frees it.
func (a *applier) releaseHandle(h handleRow) error {
	if err := a.tx.Delete(handleKey(a.kb, h.client, h.id)); err != nil {
		return err
	}
	n, err := a.loadInode(h.ino)
	if err != nil {
		return err
	}
	n.open--
	if n.open == 0 && n.nlink == 0 {
		if err := a.tx.Delete(orphanKey(a.kb, n.ino)); err != nil {
			return err
		}
		return a.deleteInode(&n)
	}
	return a.putInode(&n)
}

// clientHandles returns c's handles with IDs up to last, at most most+1
// of them (so the caller learns whether more than most are left).
func (a *applier) clientHandles(c ClientID, last HandleID, most int) ([]handleRow, error) {
	var hs []handleRow
	bad := false
	err := a.tx.Scan(handleKey(nil, c, 0), prefixEnd(handleKey(nil, c, last)), func(k, v []byte) bool {
		h, ok := decodeHandle(c, HandleID(u64At(k, 9)), v)
		bad = bad || !ok || len(k) != 17
		hs = append(hs, h)
		return !bad && len(hs) <= most
	})
	if err == nil && bad {
		err = corrupt("handle record")
	}
	return hs, err
}

// handleFor validates a handle the caller passes with a write (ftruncate,
// SetLayout): it must be the caller's, on ino, and open for writing.
func (a *applier) handleFor(id HandleID, ino Ino) error {
	h, ok, err := getHandle(a.tx, a.kb, a.sess.client, id)
	if err != nil {
		return err
	}
	if !ok || !a.sess.exists || h.ino != ino || h.flags&oAccMode == oRdOnly {
		return fail(pb.Errno_EBADF, "handle not open for writing on this inode")
	}
	if a.meta.nextExpiry != reapAt {
		return nil // no reap rows (Check holds them to this)
	}
	if last, reaping, err := a.reapLimit(a.sess.client); err != nil || reaping && id <= last {
		return orFail(err, pb.Errno_EBADF, "handle of a session that ended")
	}
	return nil
}
