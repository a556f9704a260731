package namespace

import pb "github.com/geomds/geomds/proto/geomdspb"

// Rename flags (renameat2).
const (
	renameNoReplace = 1
	renameExchange  = 2
)

// renameOp is a rename after resolution: source and destination dentries
// and their inodes (dn only when the destination exists).
type renameOp struct {
	src, dst target
	sn, dn   inode
	flags    uint32
}

func (a *applier) rename(op *pb.Rename) (*pb.Result, error) {
	r, err := a.resolveRename(op)
	if err != nil {
		return nil, err
	}
	if r.dst.found && r.dst.d.ino == r.src.d.ino {
		return attrResult(&r.sn), nil // same inode: POSIX says do nothing
	}
	if err := a.checkRename(r); err != nil {
		return nil, err
	}
	if r.flags&renameExchange != 0 {
		err = a.exchange(r)
	} else {
		err = a.move(r)
	}
	return attrResult(&r.sn), err
}

// resolveRename looks both names up and applies the checks Linux makes
// before permissions: flags, existence, and moving a directory into itself.
func (a *applier) resolveRename(op *pb.Rename) (*renameOp, error) {
	r := &renameOp{flags: op.GetFlags()}
	if r.flags&^(renameNoReplace|renameExchange) != 0 || r.flags == renameNoReplace|renameExchange {
		return nil, fail(pb.Errno_EINVAL, "bad rename flags")
	}
	var err error
	if r.src, err = a.lookupAt(op.GetFrom(), false); err != nil {
		return nil, err
	}
	if !r.src.found {
		return nil, fail(pb.Errno_ENOENT, "no such file or directory")
	}
	if r.dst, err = a.lookupAt(op.GetTo(), false); err != nil {
		return nil, err
	}
	switch {
	case r.flags&renameNoReplace != 0 && r.dst.found:
		return nil, fail(pb.Errno_EEXIST, "destination exists")
	case r.flags&renameExchange != 0 && !r.dst.found:
		return nil, fail(pb.Errno_ENOENT, "exchange destination does not exist")
	}
	if r.sn, err = a.getInode(r.src.d.ino); err != nil {
		return nil, err
	}
	if r.dst.found {
		if r.dn, err = a.getInode(r.dst.d.ino); err != nil {
			return nil, err
		}
	}
	return r, a.checkSubtree(r)
}

// checkSubtree rejects moving a directory under itself (EINVAL) and
// replacing an ancestor of the source (ENOTEMPTY), as Linux's trap checks.
func (a *applier) checkSubtree(r *renameOp) error {
	if r.src.dir.ino == r.dst.dir.ino {
		return nil
	}
	if isDir(r.sn.mode) {
		if in, err := a.within(r.dst.dir, r.sn.ino); err != nil || in {
			return orFail(err, pb.Errno_EINVAL, "move of a directory into itself")
		}
	}
	if r.dst.found && isDir(r.dn.mode) {
		in, err := a.within(r.src.dir, r.dn.ino)
		if err != nil || !in {
			return err
		}
		if r.flags&renameExchange != 0 {
			return fail(pb.Errno_EINVAL, "exchange of a directory with its descendant")
		}
		return fail(pb.Errno_ENOTEMPTY, "destination is an ancestor of the source")
	}
	return nil
}

func orFail(err error, errno pb.Errno, detail string) error {
	if err != nil {
		return err
	}
	return fail(errno, detail)
}

// within reports whether directory d is anc or lies below it, walking the
// parent chain up to /.
func (a *applier) within(d inode, anc Ino) (bool, error) {
	for depth := 0; ; depth++ {
		if d.ino == anc {
			return true, nil
		}
		if d.ino == rootIno {
			return false, nil
		}
		if depth > 1<<20 {
			return false, corrupt("directory parent chain")
		}
		var err error
		if d, err = a.getInode(d.parent); err != nil {
			return false, err
		}
	}
}

// checkRename applies the permission and type rules.
func (a *applier) checkRename(r *renameOp) error {
	if err := a.c.mayDelete(&r.src.dir, &r.sn); err != nil {
		return err
	}
	exchange := r.flags&renameExchange != 0
	if r.dst.found {
		if err := a.c.mayDelete(&r.dst.dir, &r.dn); err != nil {
			return err
		}
	} else if err := a.checkCreate(&r.dst); err != nil {
		return err
	}
	if r.dst.found && !exchange {
		switch {
		case isDir(r.sn.mode) && !isDir(r.dn.mode):
			return fail(pb.Errno_ENOTDIR, "destination is not a directory")
		case !isDir(r.sn.mode) && isDir(r.dn.mode):
			return fail(pb.Errno_EISDIR, "destination is a directory")
		}
	}
	if r.src.dir.ino != r.dst.dir.ino {
		// A directory changing parent has its ".." rewritten: needs write.
		if isDir(r.sn.mode) {
			if err := a.c.access(&r.sn, mayWrite); err != nil {
				return err
			}
		}
		if exchange && isDir(r.dn.mode) {
			if err := a.c.access(&r.dn, mayWrite); err != nil {
				return err
			}
		}
	}
	if r.dst.found && !exchange && isDir(r.dn.mode) && r.dn.size != 0 {
		return fail(pb.Errno_ENOTEMPTY, "destination directory not empty")
	}
	return nil
}

// dirs returns the source and destination directories, the same struct when
// they are one directory so that both updates land.
func (r *renameOp) dirs() (sdir, ddir *inode) {
	sdir, ddir = &r.src.dir, &r.dst.dir
	if sdir.ino == ddir.ino {
		ddir = sdir
	}
	return sdir, ddir
}

// move renames src to dst, replacing what dst named.
func (a *applier) move(r *renameOp) error {
	sdir, ddir := r.dirs()
	if err := a.tx.Delete(dentryKey(a.kb, sdir.ino, r.src.name)); err != nil {
		return err
	}
	adjust(sdir, &r.sn, -1)
	if r.dst.found {
		adjust(ddir, &r.dn, -1)
	}
	if err := a.putDentry(ddir, r.dst.name, &r.sn); err != nil {
		return err
	}
	adjust(ddir, &r.sn, +1)
	if isDir(r.sn.mode) {
		r.sn.parent = ddir.ino
	}
	r.sn.ctime = a.now
	if err := a.putDirs(sdir, ddir, &r.sn); err != nil {
		return err
	}
	if r.dst.found {
		return a.unref(&r.dn)
	}
	return nil
}

// exchange swaps the inodes that src and dst name.
func (a *applier) exchange(r *renameOp) error {
	sdir, ddir := r.dirs()
	if err := a.putDentry(sdir, r.src.name, &r.dn); err != nil {
		return err
	}
	if err := a.putDentry(ddir, r.dst.name, &r.sn); err != nil {
		return err
	}
	adjust(sdir, &r.sn, -1)
	adjust(ddir, &r.dn, -1)
	adjust(ddir, &r.sn, +1)
	adjust(sdir, &r.dn, +1)
	if isDir(r.sn.mode) {
		r.sn.parent = ddir.ino
	}
	if isDir(r.dn.mode) {
		r.dn.parent = sdir.ino
	}
	r.dn.ctime = a.now
	if err := a.putInode(&r.dn); err != nil {
		return err
	}
	r.sn.ctime = a.now
	return a.putDirs(sdir, ddir, &r.sn)
}

// adjust counts child entering (d=+1) or leaving (d=-1) dir.
func adjust(dir, child *inode, d int) {
	dir.size = uint64(int64(dir.size) + int64(d))
	if isDir(child.mode) {
		dir.nlink = uint32(int32(dir.nlink) + int32(d))
	}
}

func (a *applier) putDentry(dir *inode, name string, child *inode) error {
	a.vb = encodeDentry(a.vb, child.ino, child.mode)
	return a.tx.Put(dentryKey(a.kb, dir.ino, name), a.vb)
}

// putDirs stamps and writes the directories of a rename and the moved inode.
func (a *applier) putDirs(sdir, ddir, moved *inode) error {
	sdir.mtime, sdir.ctime = a.now, a.now
	ddir.mtime, ddir.ctime = a.now, a.now
	if err := a.putInode(sdir); err != nil {
		return err
	}
	if ddir != sdir {
		if err := a.putInode(ddir); err != nil {
			return err
		}
	}
	return a.putInode(moved)
}
