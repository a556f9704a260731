package namespace

import pb "github.com/geomds/geomds/proto/geomdspb"

// removal is one dentry that RemoveAll deletes.
type removal struct {
	dir   Ino
	name  string
	child Ino
}

// removeAll removes path and everything under it (rm -r) in one command.
// It walks the whole subtree first, checking every permission, so that a
// refusal anywhere removes nothing; then it removes children before parents.
func (a *applier) removeAll(op *pb.RemoveAll) (*pb.Result, error) {
	t, n, err := a.removeAt(&pb.Loc{Path: op.GetPath()})
	if err != nil {
		return nil, err
	}
	var plan []removal
	if isDir(n.mode) {
		if plan, err = a.planRemoval(&n, plan); err != nil {
			return nil, err
		}
	}
	for _, r := range plan {
		if err := a.removeOne(r); err != nil {
			return nil, err
		}
	}
	if isDir(n.mode) && len(plan) > 0 {
		if n, err = a.loadInode(n.ino); err != nil {
			return nil, err
		}
	}
	if err := a.removeEntry(&t.dir, t.name, &n); err != nil {
		return nil, err
	}
	return attrResult(&n), a.unref(&n)
}

// planRemoval appends, children first, the removals that empty dir,
// checking that the caller may list and empty every directory.
func (a *applier) planRemoval(dir *inode, plan []removal) ([]removal, error) {
	mask := uint32(mayRead | mayExec)
	if dir.size > 0 {
		mask |= mayWrite
	}
	if err := a.c.access(dir, mask); err != nil {
		return nil, err
	}
	kids, err := listDentries(a.tx, dir.ino)
	if err != nil {
		return nil, err
	}
	for _, k := range kids {
		child, err := a.getInode(k.ino)
		if err != nil {
			return nil, err
		}
		if err := a.c.mayDelete(dir, &child); err != nil {
			return nil, err
		}
		if isDir(child.mode) {
			if plan, err = a.planRemoval(&child, plan); err != nil {
				return nil, err
			}
		}
		plan = append(plan, removal{dir: dir.ino, name: k.name, child: k.ino})
	}
	return plan, nil
}

func (a *applier) removeOne(r removal) error {
	dir, err := a.loadInode(r.dir)
	if err != nil {
		return err
	}
	child, err := a.loadInode(r.child)
	if err != nil {
		return err
	}
	if err := a.removeEntry(&dir, r.name, &child); err != nil {
		return err
	}
	return a.unref(&child)
}

// namedDentry is a dentry with its name, as listed from a directory.
type namedDentry struct {
	name string
	dentry
}

// listDentries returns every entry of dir in name order.
func listDentries(r Reader, dir Ino) ([]namedDentry, error) {
	var out []namedDentry
	p := key1(nil, pfxDentry, uint64(dir))
	bad := false
	err := r.Scan(p, prefixEnd(p), func(k, v []byte) bool {
		d, ok := decodeDentry(v)
		bad = !ok
		out = append(out, namedDentry{name: string(k[9:]), dentry: d})
		return ok
	})
	if err == nil && bad {
		err = corrupt("dentry")
	}
	return out, err
}
