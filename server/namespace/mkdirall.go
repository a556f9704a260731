package namespace

import pb "github.com/geomds/geomds/proto/geomdspb"

// mkdirAll creates every missing directory of a path, as mkdir -p: an
// existing directory (or symlink to one) is fine, an existing non-directory
// is EEXIST at the end and ENOTDIR in the middle. Intermediate directories
// get mode|0300 so their creator can populate them (GNU mkdir -p).
func (a *applier) mkdirAll(op *pb.MkdirAll) (*pb.Result, error) {
	if err := ValidatePath(op.GetPath()); err != nil {
		return nil, err
	}
	w := a.walker()
	cur, err := a.getInode(rootIno)
	if err != nil {
		return nil, err
	}
	for rest := op.GetPath(); ; {
		comp, tail := nextComponent(rest)
		if comp == "" {
			return attrResult(&cur), nil
		}
		next, err := w.step(cur, comp)
		if ErrnoOf(err) == pb.Errno_ENOENT {
			return a.mkdirChain(cur, rest, op.GetMode())
		}
		if err != nil {
			return nil, err
		}
		if isLnk(next.mode) {
			if next, err = w.followLink(cur, next); ErrnoOf(err) == pb.Errno_ENOENT {
				return nil, fail(pb.Errno_EEXIST, "dangling symbolic link")
			} else if err != nil {
				return nil, err
			}
		}
		if !isDir(next.mode) {
			if isLast(tail) {
				return nil, fail(pb.Errno_EEXIST, "file exists and is not a directory")
			}
			return nil, fail(pb.Errno_ENOTDIR, "not a directory")
		}
		cur, rest = next, tail
	}
}

// mkdirChain creates the components of rest, all missing, under dir.
func (a *applier) mkdirChain(dir inode, rest string, mode uint32) (*pb.Result, error) {
	var names []string
	for {
		comp, tail := nextComponent(rest)
		if comp == "" {
			break
		}
		if err := ValidateName(comp); err != nil {
			return nil, err
		}
		names, rest = append(names, comp), tail
	}
	t := target{dir: dir, name: names[0]}
	if err := a.checkCreate(&t); err != nil {
		return nil, err
	}
	if uint64(a.meta.nextIno)+uint64(len(names))-1 > uint64(maxLocalIno) {
		return nil, fail(pb.Errno_ENOSPC, "inode numbers exhausted")
	}
	perm := mode & (permMask &^ (sISUID | sISGID))
	var n inode
	for i, name := range names {
		m := perm
		if i < len(names)-1 {
			m |= 0o300
		}
		n, _ = a.allocInode(sIFDIR|m, &t.dir)
		t.name = name
		if err := a.insert(&t, &n); err != nil {
			return nil, err
		}
		t.dir = n
	}
	return attrResult(&n), nil
}

// isLast reports whether the rest of a path holds no more components.
func isLast(tail string) bool {
	for i := 0; i < len(tail); i++ {
		if tail[i] != '/' {
			return false
		}
	}
	return true
}
