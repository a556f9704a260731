package namespace

import (
	"fmt"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Bounds on the work of one RemoveAll command, so that removing a big tree
// never holds every replica's apply loop (and with it heartbeats and every
// other client's commands) for long. Both are part of the command's
// meaning from version 3: changing them needs a new command version.
const (
	// MaxRemoveAllEntries caps RemoveAll.max_entries: the entries under
	// the path one command removes (tens of milliseconds of apply).
	MaxRemoveAllEntries = 1024
	// unboundedRemoveAllLimit is the most entries a RemoveAll without
	// max_entries (an older client's) may remove once every member applies
	// version 3; a bigger tree is refused with E2BIG, removing nothing.
	unboundedRemoveAllLimit = 16384
)

// removal is one dentry that RemoveAll deletes.
type removal struct {
	dir   Ino
	name  string
	child Ino
}

// removeAll removes path and everything under it (rm -r). It plans the
// removals first, checking every permission on the way, so that a refusal
// removes nothing of what this command would have; then it removes
// children before parents. With max_entries it removes at most that many
// entries under path, deepest first, and reports in Result.more that some
// remain; path itself goes once nothing is left under it.
func (a *applier) removeAll(op *pb.RemoveAll) (*pb.Result, error) {
	t, n, err := a.removeAt(&pb.Loc{Path: op.GetPath()})
	if err != nil {
		return nil, err
	}
	limit := 0 // no bound: version 1 and 2
	switch {
	case op.GetMaxEntries() > 0:
		limit = int(min(op.GetMaxEntries(), MaxRemoveAllEntries))
	case a.cluster >= 3:
		limit = unboundedRemoveAllLimit
	}
	var plan []removal
	full := false
	if isDir(n.mode) {
		if plan, full, err = a.planRemoval(&n, plan, limit); err != nil {
			return nil, err
		}
	}
	if full && op.GetMaxEntries() == 0 {
		return nil, fail(pb.Errno_E2BIG, fmt.Sprintf(
			"more than %d entries under %s: a client of command version 3 or later removes it in parts", limit, op.GetPath()))
	}
	for _, r := range plan {
		if err := a.removeOne(r); err != nil {
			return nil, err
		}
	}
	if full {
		return &pb.Result{More: true}, nil
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
// checking that the caller may list and empty every directory on the way.
// With limit > 0 it stops once plan holds limit removals and reports full
// when dir is not yet empty by then; it lists no more of a directory than
// it can still take.
func (a *applier) planRemoval(dir *inode, plan []removal, limit int) ([]removal, bool, error) {
	mask := uint32(mayRead | mayExec)
	if dir.size > 0 {
		mask |= mayWrite
	}
	if err := a.c.access(dir, mask); err != nil {
		return nil, false, err
	}
	most := 0 // every entry
	if limit > 0 {
		most = limit - len(plan) + 1 // one more than fits tells dir is not emptied
	}
	kids, err := listDentries(a.tx, dir.ino, most)
	if err != nil {
		return nil, false, err
	}
	for _, k := range kids {
		if limit > 0 && len(plan) >= limit {
			return plan, true, nil
		}
		child, err := a.getInode(k.ino)
		if err != nil {
			return nil, false, err
		}
		if err := a.c.mayDelete(dir, &child); err != nil {
			return nil, false, err
		}
		if isDir(child.mode) {
			var full bool
			if plan, full, err = a.planRemoval(&child, plan, limit); err != nil || full {
				return plan, full, err
			}
			if limit > 0 && len(plan) >= limit {
				return plan, true, nil // child is empty now, but there is no room for it
			}
		}
		plan = append(plan, removal{dir: dir.ino, name: k.name, child: k.ino})
	}
	return plan, false, nil
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

// listDentries returns the entries of dir in name order: all of them, or
// the first most when most > 0.
func listDentries(r Reader, dir Ino, most int) ([]namedDentry, error) {
	var out []namedDentry
	p := key1(nil, pfxDentry, uint64(dir))
	bad := false
	err := r.Scan(p, prefixEnd(p), func(k, v []byte) bool {
		d, ok := decodeDentry(v)
		bad = !ok
		out = append(out, namedDentry{name: string(k[9:]), dentry: d})
		return ok && (most <= 0 || len(out) < most)
	})
	if err == nil && bad {
		err = corrupt("dentry")
	}
	return out, err
}
