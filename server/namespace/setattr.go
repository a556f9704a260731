package namespace

import (
	"math"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// SetAttr valid bits (see SetAttr in command.proto).
const (
	setMode     = 1
	setUID      = 2
	setGID      = 4
	setSize     = 8
	setAtime    = 16
	setMtime    = 32
	setAtimeNow = 64
	setMtimeNow = 128
	setCtime    = 256
	setAll      = 511
)

// maxFileSize is the largest size a file may have (off_t).
const maxFileSize = math.MaxInt64

// inodeOf resolves an inode addressed by path (which wins) or ino.
func (a *applier) inodeOf(ino uint64, path string, follow bool) (inode, error) {
	if path == "" {
		return a.getInode(Ino(ino))
	}
	if err := ValidatePath(path); err != nil {
		return inode{}, err
	}
	return a.walker().walk(path, follow)
}

func (a *applier) setAttr(op *pb.SetAttr) (*pb.Result, error) {
	if op.GetValid()&^setAll != 0 {
		return nil, fail(pb.Errno_EINVAL, "unknown setattr bits")
	}
	n, err := a.inodeOf(op.GetIno(), op.GetPath(), true)
	if err != nil {
		return nil, err
	}
	if err := a.checkSize(&n, op); err != nil {
		return nil, err
	}
	if err := a.checkOwnership(&n, op); err != nil {
		return nil, err
	}
	if err := a.checkTimes(&n, op.GetValid()); err != nil {
		return nil, err
	}
	if err := a.applySetAttr(&n, op); err != nil {
		return nil, err
	}
	return attrResult(&n), a.putInode(&n)
}

func (a *applier) checkSize(n *inode, op *pb.SetAttr) error {
	if op.GetValid()&setSize == 0 {
		return nil
	}
	switch {
	case isDir(n.mode):
		return fail(pb.Errno_EISDIR, "truncate of a directory")
	case !isReg(n.mode):
		return fail(pb.Errno_EINVAL, "truncate of a special file")
	case op.GetSize() > maxFileSize:
		return fail(pb.Errno_EFBIG, "size too large")
	case op.GetHandle() != 0:
		return a.handleFor(HandleID(op.GetHandle()), n.ino)
	}
	return a.c.access(n, mayWrite)
}

// checkOwnership applies chown/chgrp/chmod rules: only root gives a file
// away; the owner may change the group to one of their groups; only the
// owner or root may chmod.
func (a *applier) checkOwnership(n *inode, op *pb.SetAttr) error {
	v := op.GetValid()
	if a.c.root() {
		return nil
	}
	if v&setUID != 0 && (a.c.uid != n.uid || op.GetUid() != n.uid) {
		return fail(pb.Errno_EPERM, "only root may change the owner")
	}
	if v&setGID != 0 && (a.c.uid != n.uid || (op.GetGid() != n.gid && !a.c.inGroup(op.GetGid()))) {
		return fail(pb.Errno_EPERM, "group change not permitted")
	}
	if v&setMode != 0 && a.c.uid != n.uid {
		return fail(pb.Errno_EPERM, "only the owner may change the mode")
	}
	return nil
}

// checkTimes: explicit times need ownership; "now" needs ownership or write
// permission (utimes(2)).
func (a *applier) checkTimes(n *inode, v uint32) error {
	if v&(setAtime|setMtime|setCtime) != 0 && !a.c.owns(n) {
		return fail(pb.Errno_EPERM, "only the owner may set times")
	}
	if v&(setAtimeNow|setMtimeNow) != 0 && !a.c.owns(n) && !a.c.may(n, mayWrite) {
		return fail(pb.Errno_EACCES, "permission denied")
	}
	return nil
}

func (a *applier) applySetAttr(n *inode, op *pb.SetAttr) error {
	v := op.GetValid()
	if v&setSize != 0 {
		if err := a.truncate(n, op.GetSize()); err != nil {
			return err
		}
		n.mtime = a.now
		a.killPrivs(n)
	}
	if v&(setUID|setGID) != 0 {
		if v&setUID != 0 {
			n.uid = op.GetUid()
		}
		if v&setGID != 0 {
			n.gid = op.GetGid()
		}
		if !isDir(n.mode) {
			killSuid(n)
		}
	}
	if v&setMode != 0 {
		m := op.GetMode() & permMask
		if !a.c.root() && !a.c.inGroup(n.gid) {
			m &^= sISGID
		}
		n.mode = n.mode&sIFMT | m
	}
	a.applyTimes(n, op)
	return nil
}

func (a *applier) applyTimes(n *inode, op *pb.SetAttr) {
	v := op.GetValid()
	switch {
	case v&setAtime != 0:
		n.atime = op.GetAtimeNs()
	case v&setAtimeNow != 0:
		n.atime = a.now
	}
	switch {
	case v&setMtime != 0:
		n.mtime = op.GetMtimeNs()
	case v&setMtimeNow != 0:
		n.mtime = a.now
	}
	n.ctime = a.now
	if v&setCtime != 0 {
		n.ctime = op.GetCtimeNs()
	}
}

// killPrivs drops setuid/setgid after a write by a non-root caller.
func (a *applier) killPrivs(n *inode) {
	if !a.c.root() {
		killSuid(n)
	}
}

// killSuid clears S_ISUID, and S_ISGID when group-exec is set (without it,
// S_ISGID marks mandatory locking and stays).
func killSuid(n *inode) {
	n.mode &^= sISUID
	if n.mode&sIXGRP != 0 {
		n.mode &^= sISGID
	}
}
