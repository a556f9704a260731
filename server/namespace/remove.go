package namespace

import pb "github.com/geomds/geomds/proto/geomdspb"

func (a *applier) unlink(op *pb.Unlink) (*pb.Result, error) {
	t, n, err := a.removeAt(op.GetLoc())
	if err != nil {
		return nil, err
	}
	if isDir(n.mode) {
		return nil, fail(pb.Errno_EISDIR, "is a directory")
	}
	if err := a.removeEntry(&t.dir, t.name, &n); err != nil {
		return nil, err
	}
	return attrResult(&n), a.unref(&n)
}

func (a *applier) rmdir(op *pb.Rmdir) (*pb.Result, error) {
	t, n, err := a.removeAt(op.GetLoc())
	if err != nil {
		return nil, err
	}
	switch {
	case !isDir(n.mode):
		return nil, fail(pb.Errno_ENOTDIR, "not a directory")
	case n.size != 0:
		return nil, fail(pb.Errno_ENOTEMPTY, "directory not empty")
	}
	if err := a.removeEntry(&t.dir, t.name, &n); err != nil {
		return nil, err
	}
	return attrResult(&n), a.unref(&n)
}

// unref drops one name of n, already removed from its directory: the inode
// goes when its last name goes, unless handles keep it as an orphan.
func (a *applier) unref(n *inode) error {
	if isDir(n.mode) {
		n.nlink = 0
	} else {
		n.nlink--
	}
	n.ctime = a.now
	if n.nlink > 0 {
		return a.putInode(n)
	}
	if n.open > 0 {
		if err := a.tx.Put(orphanKey(a.kb, n.ino), nil); err != nil {
			return err
		}
		return a.putInode(n)
	}
	return a.deleteInode(n)
}

// deleteInode removes n and everything hanging off it; its chunks go to the
// deletion queue when no other file references them.
func (a *applier) deleteInode(n *inode) error {
	if n.xattrs > 0 {
		if err := a.deleteRange(key1(nil, pfxXattr, uint64(n.ino))); err != nil {
			return err
		}
	}
	if isLnk(n.mode) {
		if err := a.tx.Delete(symlinkKey(a.kb, n.ino)); err != nil {
			return err
		}
	}
	if n.flags&flagLayout != 0 {
		if err := a.replaceLayout(n, nil, nil); err != nil {
			return err
		}
	}
	a.countInode(n, -1)
	return a.tx.Delete(inodeKey(a.kb, n.ino))
}
