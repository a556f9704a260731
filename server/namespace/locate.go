package namespace

import pb "github.com/geomds/geomds/proto/geomdspb"

// target is a resolved dentry location: the parent directory, the name in
// it and, when found, what the name points at.
type target struct {
	dir   inode
	name  string
	d     dentry
	found bool
}

// locate resolves loc to its directory and validated final name. A path
// (resolved from / now) wins over (parent, name). The path "/" has no final
// name: creating it is EEXIST, anything else EBUSY.
func (a *applier) locate(loc *pb.Loc, create bool) (inode, string, error) {
	if loc.GetPath() != "" {
		dir, name, err := a.walker().walkParent(loc.GetPath())
		if err == nil && name == "" {
			err = rootError(create)
		}
		return dir, name, err
	}
	if err := ValidateName(loc.GetName()); err != nil {
		return inode{}, "", err
	}
	dir, err := a.getInode(Ino(loc.GetParent()))
	if err == nil && !isDir(dir.mode) {
		err = fail(pb.Errno_ENOTDIR, "parent is not a directory")
	}
	return dir, loc.GetName(), err
}

func rootError(create bool) error {
	if create {
		return fail(pb.Errno_EEXIST, "/ exists")
	}
	return fail(pb.Errno_EBUSY, "operation on /")
}

// lookupAt locates loc and looks its name up, after the search permission
// check on the directory that a lookup needs.
func (a *applier) lookupAt(loc *pb.Loc, create bool) (target, error) {
	dir, name, err := a.locate(loc, create)
	if err != nil {
		return target{}, err
	}
	if err := a.c.access(&dir, mayExec); err != nil {
		return target{}, err
	}
	d, found, err := getDentry(a.tx, a.kb, dir.ino, name)
	return target{dir: dir, name: name, d: d, found: found}, err
}

// createAt locates loc for a new entry: the name must be free and the
// directory writable (and not removed).
func (a *applier) createAt(loc *pb.Loc) (target, error) {
	t, err := a.lookupAt(loc, true)
	if err != nil {
		return t, err
	}
	return t, a.checkCreate(&t)
}

func (a *applier) checkCreate(t *target) error {
	switch {
	case t.found:
		return fail(pb.Errno_EEXIST, "file exists")
	case t.dir.nlink == 0:
		return fail(pb.Errno_ENOENT, "directory was removed")
	}
	return a.c.access(&t.dir, mayWrite|mayExec)
}

// removeAt locates loc for removal: the name must exist and the caller may
// delete it (write+search on the directory, sticky rule). It returns the
// victim inode too.
func (a *applier) removeAt(loc *pb.Loc) (target, inode, error) {
	t, err := a.lookupAt(loc, false)
	if err != nil {
		return t, inode{}, err
	}
	if !t.found {
		return t, inode{}, fail(pb.Errno_ENOENT, "no such file or directory")
	}
	n, err := a.getInode(t.d.ino)
	if err != nil {
		return t, n, err
	}
	return t, n, a.c.mayDelete(&t.dir, &n)
}

// addEntry links child into dir under name and updates dir.
func (a *applier) addEntry(dir *inode, name string, child *inode) error {
	if err := a.putDentry(dir, name, child); err != nil {
		return err
	}
	adjust(dir, child, +1)
	dir.mtime, dir.ctime = a.now, a.now
	return a.putInode(dir)
}

// removeEntry unlinks name (pointing at child) from dir and updates dir.
// The caller adjusts child.
func (a *applier) removeEntry(dir *inode, name string, child *inode) error {
	if err := a.tx.Delete(dentryKey(a.kb, dir.ino, name)); err != nil {
		return err
	}
	adjust(dir, child, -1)
	dir.mtime, dir.ctime = a.now, a.now
	return a.putInode(dir)
}
