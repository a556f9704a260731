package namespace

import pb "github.com/geomds/geomds/proto/geomdspb"

// maxLinks bounds a file's hard links (ext4's value).
const maxLinks = 65000

// allocInode assigns the next ino to a new inode of mode created by the
// caller in dir, applying the setgid-directory rules. It must be called
// after every check: it is the first change a create makes.
func (a *applier) allocInode(mode uint32, dir *inode) (inode, error) {
	if a.meta.nextIno > maxLocalIno {
		return inode{}, fail(pb.Errno_ENOSPC, "inode numbers exhausted")
	}
	n := inode{ino: a.meta.nextIno, mode: mode, nlink: 1, uid: a.c.uid, gid: a.c.gid,
		atime: a.now, mtime: a.now, ctime: a.now}
	a.meta.nextIno++
	if dir.mode&sISGID != 0 {
		n.gid = dir.gid
		if isDir(mode) {
			n.mode |= sISGID
		} else if mode&(sISGID|sIXGRP) == sISGID|sIXGRP && !a.c.root() && !a.c.inGroup(dir.gid) {
			n.mode &^= sISGID
		}
	}
	if isDir(mode) {
		n.nlink, n.parent = 2, dir.ino
	}
	a.countInode(&n, 1)
	return n, nil
}

// insert writes new inode n and links it at t.
func (a *applier) insert(t *target, n *inode) error {
	if err := a.putInode(n); err != nil {
		return err
	}
	return a.addEntry(&t.dir, t.name, n)
}

func (a *applier) mkdir(op *pb.Mkdir) (*pb.Result, error) {
	t, err := a.createAt(op.GetLoc())
	if err != nil {
		return nil, err
	}
	n, err := a.allocInode(sIFDIR|op.GetMode()&(permMask&^(sISUID|sISGID)), &t.dir)
	if err != nil {
		return nil, err
	}
	return attrResult(&n), a.insert(&t, &n)
}

// mknodType returns the file type for a mknod mode, rejecting types mknod
// cannot make (Linux may_mknod).
func (a *applier) mknodType(mode uint32) (uint32, error) {
	switch t := mode & sIFMT; t {
	case 0, sIFREG:
		return sIFREG, nil
	case sIFIFO, sIFSOCK, sIFCHR, sIFBLK:
		return t, nil
	case sIFDIR:
		return 0, fail(pb.Errno_EPERM, "mknod of a directory")
	}
	return 0, fail(pb.Errno_EINVAL, "bad file type")
}

func (a *applier) mknod(op *pb.Mknod) (*pb.Result, error) {
	typ, err := a.mknodType(op.GetMode())
	if err != nil {
		return nil, err
	}
	if op.GetOpen() && !a.sess.exists {
		return nil, fail(pb.Errno_EINVAL, "open needs a client id")
	}
	t, err := a.lookupAt(op.GetLoc(), true)
	if err != nil {
		return nil, err
	}
	if t.found && !op.GetExclusive() {
		return a.openExisting(&t, op)
	}
	if err := a.checkCreate(&t); err != nil {
		return nil, err
	}
	dev := typ == sIFCHR || typ == sIFBLK
	if dev && !a.c.root() {
		return nil, fail(pb.Errno_EPERM, "device nodes need root")
	}
	n, err := a.allocInode(typ|op.GetMode()&permMask, &t.dir)
	if err != nil {
		return nil, err
	}
	if dev {
		n.rdev = op.GetRdev()
	}
	res := &pb.Result{}
	if op.GetOpen() {
		h, err := a.newHandle(&n, oRdWr)
		if err != nil {
			return nil, err
		}
		res.Handle = uint64(h)
	}
	res.Attr = n.attr()
	return res, a.insert(&t, &n)
}

// openExisting is mknod without exclusive on a name that exists (open with
// O_CREAT but not O_EXCL): it returns the file, opened or truncated as asked.
func (a *applier) openExisting(t *target, op *pb.Mknod) (*pb.Result, error) {
	n, err := a.getInode(t.d.ino)
	if err != nil {
		return nil, err
	}
	switch {
	case isDir(n.mode):
		return nil, fail(pb.Errno_EISDIR, "is a directory")
	case isLnk(n.mode):
		return nil, fail(pb.Errno_EEXIST, "file exists (symbolic link)")
	}
	flags := uint32(oWrOnly)
	if op.GetTruncate() {
		flags |= oTrunc
	}
	if op.GetOpen() {
		if err := a.checkOpen(&n, flags); err != nil {
			return nil, err
		}
	} else if op.GetTruncate() {
		if err := a.c.access(&n, mayWrite); err != nil {
			return nil, err
		}
	}
	return a.openWith(&n, flags, op.GetOpen())
}

// openWith truncates (flags has O_TRUNC) and opens (open) a checked inode.
func (a *applier) openWith(n *inode, flags uint32, open bool) (*pb.Result, error) {
	changed := false
	if flags&oTrunc != 0 && isReg(n.mode) {
		if err := a.truncate(n, 0); err != nil {
			return nil, err
		}
		changed = true
	}
	res := &pb.Result{}
	if open {
		h, err := a.newHandle(n, flags)
		if err != nil {
			return nil, err
		}
		res.Handle, changed = uint64(h), true
	}
	if changed {
		if err := a.putInode(n); err != nil {
			return nil, err
		}
	}
	res.Attr = n.attr()
	return res, nil
}

func (a *applier) symlink(op *pb.Symlink) (*pb.Result, error) {
	if err := validateSymlinkTarget(op.GetTarget()); err != nil {
		return nil, err
	}
	t, err := a.createAt(op.GetLoc())
	if err != nil {
		return nil, err
	}
	n, err := a.allocInode(sIFLNK|0o777, &t.dir)
	if err != nil {
		return nil, err
	}
	n.size = uint64(len(op.GetTarget()))
	if err := a.tx.Put(symlinkKey(a.kb, n.ino), []byte(op.GetTarget())); err != nil {
		return nil, err
	}
	return attrResult(&n), a.insert(&t, &n)
}

func (a *applier) link(op *pb.Link) (*pb.Result, error) {
	src, err := a.linkSource(op)
	if err != nil {
		return nil, err
	}
	t, err := a.createAt(op.GetNewLoc())
	if err != nil {
		return nil, err
	}
	switch {
	case isDir(src.mode):
		return nil, fail(pb.Errno_EPERM, "hard link to a directory")
	case src.nlink == 0:
		return nil, fail(pb.Errno_ENOENT, "inode was removed")
	case src.nlink >= maxLinks:
		return nil, fail(pb.Errno_EMLINK, "too many links")
	}
	if err := a.addEntry(&t.dir, t.name, &src); err != nil {
		return nil, err
	}
	src.nlink++
	src.ctime = a.now
	return attrResult(&src), a.putInode(&src)
}

// linkSource resolves the existing inode of a Link: path (not following a
// final symlink, as link(2)) or ino.
func (a *applier) linkSource(op *pb.Link) (inode, error) {
	if op.GetPath() == "" {
		return a.getInode(Ino(op.GetIno()))
	}
	if err := ValidatePath(op.GetPath()); err != nil {
		return inode{}, err
	}
	return a.walker().walk(op.GetPath(), false)
}
