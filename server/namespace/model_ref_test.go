package namespace

import (
	"sort"
	"strings"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// The reference model: a pointer tree with the POSIX rules written out
// directly, independent of the key layout, the walker and the applier.

type mnode struct {
	id       int
	kind     uint32 // sIFDIR, sIFREG, sIFLNK
	perm     uint32
	uid, gid uint32
	kids     map[string]*mnode // directories
	parent   *mnode            // directories
	target   string            // symlinks
	nlink    int               // names (non-directories); 0/1 linked (directories)
	size     uint64
	open     int
	xattrs   map[string]bool
}

type model struct {
	root    *mnode
	nextID  int
	orphans map[int]*mnode
	handles map[uint64]*mnode
}

func newModel() *model {
	root := &mnode{id: 1, kind: sIFDIR, perm: 0o755, kids: map[string]*mnode{}, nlink: 1, xattrs: map[string]bool{}}
	root.parent = root
	return &model{root: root, nextID: 2, orphans: map[int]*mnode{}, handles: map[uint64]*mnode{}}
}

type merr = pb.Errno

const mok = pb.Errno_OK

func (m *model) newNode(kind, perm uint32, c cred, dir *mnode) *mnode {
	n := &mnode{id: m.nextID, kind: kind, perm: perm, uid: c.uid, gid: c.gid, nlink: 1, xattrs: map[string]bool{}}
	m.nextID++
	if kind == sIFDIR {
		n.kids, n.parent = map[string]*mnode{}, dir
	}
	return n
}

func (n *mnode) asInode() *inode {
	return &inode{mode: n.kind | n.perm, uid: n.uid, gid: n.gid}
}

func mmay(c cred, n *mnode, mask uint32) bool { return c.may(n.asInode(), mask) }

// walk resolves an absolute path as the namespace does.
func (m *model) walk(c cred, path string, follow bool) (*mnode, merr) {
	links := 0
	return m.walkFrom(c, m.root, path, follow, &links)
}

func (m *model) walkFrom(c cred, cur *mnode, path string, follow bool, links *int) (*mnode, merr) {
	comps := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	for i, comp := range comps {
		if cur.kind != sIFDIR {
			return nil, pb.Errno_ENOTDIR
		}
		if !mmay(c, cur, mayExec) {
			return nil, pb.Errno_EACCES
		}
		next := cur
		switch comp {
		case ".":
		case "..":
			next = cur.parent
		default:
			if len(comp) > MaxNameLen {
				return nil, pb.Errno_ENAMETOOLONG
			}
			if next = cur.kids[comp]; next == nil {
				return nil, pb.Errno_ENOENT
			}
		}
		if next.kind == sIFLNK && (i < len(comps)-1 || follow) {
			if *links++; *links > maxSymlinks {
				return nil, pb.Errno_ELOOP
			}
			start := cur
			if strings.HasPrefix(next.target, "/") {
				start = m.root
			}
			var e merr
			if next, e = m.walkFrom(c, start, next.target, true, links); e != mok {
				return nil, e
			}
		}
		cur = next
	}
	return cur, mok
}

// parentOf resolves all but the last component; name "" means "/".
func (m *model) parentOf(c cred, path string) (*mnode, string, merr) {
	if e := ErrnoOf(ValidatePath(path)); e != mok {
		return nil, "", e
	}
	dirPath, name := splitLast(path)
	dir, e := m.walk(c, dirPath, true)
	if e != mok {
		return nil, "", e
	}
	if dir.kind != sIFDIR {
		return nil, "", pb.Errno_ENOTDIR
	}
	if name != "" {
		e = ErrnoOf(ValidateName(name))
	}
	return dir, name, e
}

// lookup is parentOf plus the search check and the name's lookup.
func (m *model) lookup(c cred, path string, create bool) (*mnode, string, *mnode, merr) {
	dir, name, e := m.parentOf(c, path)
	if e == mok && name == "" {
		e = pb.Errno_EBUSY
		if create {
			e = pb.Errno_EEXIST
		}
	}
	if e != mok {
		return nil, "", nil, e
	}
	if !mmay(c, dir, mayExec) {
		return nil, "", nil, pb.Errno_EACCES
	}
	return dir, name, dir.kids[name], mok
}

func (m *model) createAt(c cred, path string) (*mnode, string, merr) {
	dir, name, n, e := m.lookup(c, path, true)
	switch {
	case e != mok:
		return nil, "", e
	case n != nil:
		return nil, "", pb.Errno_EEXIST
	case dir.nlink == 0:
		return nil, "", pb.Errno_ENOENT
	case !mmay(c, dir, mayWrite|mayExec):
		return nil, "", pb.Errno_EACCES
	}
	return dir, name, mok
}

func (m *model) removeAt(c cred, path string) (*mnode, string, *mnode, merr) {
	dir, name, n, e := m.lookup(c, path, false)
	switch {
	case e != mok:
		return nil, "", nil, e
	case n == nil:
		return nil, "", nil, pb.Errno_ENOENT
	case !mmay(c, dir, mayWrite|mayExec):
		return nil, "", nil, pb.Errno_EACCES
	}
	return dir, name, n, mok
}

// unref drops one name of n (already unlinked from its directory).
func (m *model) unref(n *mnode) {
	n.nlink--
	if n.nlink == 0 && n.open > 0 {
		m.orphans[n.id] = n
	}
}

func (m *model) mkdir(c cred, path string, perm uint32) merr {
	dir, name, e := m.createAt(c, path)
	if e == mok {
		dir.kids[name] = m.newNode(sIFDIR, perm, c, dir)
	}
	return e
}

func (m *model) create(c cred, path string, perm uint32) merr {
	dir, name, e := m.createAt(c, path)
	if e == mok {
		dir.kids[name] = m.newNode(sIFREG, perm, c, dir)
	}
	return e
}

func (m *model) symlink(c cred, target, path string) merr {
	if target == "" {
		return pb.Errno_ENOENT
	}
	dir, name, e := m.createAt(c, path)
	if e == mok {
		n := m.newNode(sIFLNK, 0o777, c, dir)
		n.target, n.size = target, uint64(len(target))
		dir.kids[name] = n
	}
	return e
}

func (m *model) unlink(c cred, path string) merr {
	dir, name, n, e := m.removeAt(c, path)
	if e == mok && n.kind == sIFDIR {
		e = pb.Errno_EISDIR
	}
	if e == mok {
		delete(dir.kids, name)
		m.unref(n)
	}
	return e
}

func (m *model) rmdir(c cred, path string) merr {
	dir, name, n, e := m.removeAt(c, path)
	switch {
	case e != mok:
		return e
	case n.kind != sIFDIR:
		return pb.Errno_ENOTDIR
	case len(n.kids) > 0:
		return pb.Errno_ENOTEMPTY
	}
	delete(dir.kids, name)
	m.unref(n)
	return mok
}

func (m *model) link(c cred, src, path string) merr {
	if e := ErrnoOf(ValidatePath(src)); e != mok {
		return e
	}
	sn, e := m.walk(c, src, false)
	if e != mok {
		return e
	}
	dir, name, e := m.createAt(c, path)
	switch {
	case e != mok:
		return e
	case sn.kind == sIFDIR:
		return pb.Errno_EPERM
	}
	dir.kids[name] = sn
	sn.nlink++
	return mok
}

// within reports whether d is a or lies below it.
func within(d, a *mnode) bool {
	for ; ; d = d.parent {
		if d == a {
			return true
		}
		if d.parent == d {
			return false
		}
	}
}

func (m *model) rename(c cred, from, to string, flags uint32) merr {
	if flags > 2 {
		return pb.Errno_EINVAL
	}
	sdir, sname, sn, e := m.lookup(c, from, false)
	if e == mok && sn == nil {
		e = pb.Errno_ENOENT
	}
	if e != mok {
		return e
	}
	ddir, dname, dn, e := m.lookup(c, to, false)
	switch {
	case e != mok:
		return e
	case flags == renameNoReplace && dn != nil:
		return pb.Errno_EEXIST
	case flags == renameExchange && dn == nil:
		return pb.Errno_ENOENT
	}
	if sdir != ddir {
		if sn.kind == sIFDIR && within(ddir, sn) {
			return pb.Errno_EINVAL
		}
		if dn != nil && dn.kind == sIFDIR && within(sdir, dn) {
			if flags == renameExchange {
				return pb.Errno_EINVAL
			}
			return pb.Errno_ENOTEMPTY
		}
	}
	if dn == sn {
		return mok
	}
	if e := m.checkRename(c, sdir, ddir, sn, dn, flags); e != mok {
		return e
	}
	if flags == renameExchange {
		sdir.kids[sname], ddir.kids[dname] = dn, sn
		if sn.kind == sIFDIR {
			sn.parent = ddir
		}
		if dn.kind == sIFDIR {
			dn.parent = sdir
		}
		return mok
	}
	delete(sdir.kids, sname)
	ddir.kids[dname] = sn
	if sn.kind == sIFDIR {
		sn.parent = ddir
	}
	if dn != nil {
		m.unref(dn)
	}
	return mok
}

func (m *model) checkRename(c cred, sdir, ddir, sn, dn *mnode, flags uint32) merr {
	if !mmay(c, sdir, mayWrite|mayExec) {
		return pb.Errno_EACCES
	}
	if dn == nil && ddir.nlink == 0 {
		return pb.Errno_ENOENT
	}
	if !mmay(c, ddir, mayWrite|mayExec) {
		return pb.Errno_EACCES
	}
	if dn != nil && flags != renameExchange {
		if sn.kind == sIFDIR && dn.kind != sIFDIR {
			return pb.Errno_ENOTDIR
		}
		if sn.kind != sIFDIR && dn.kind == sIFDIR {
			return pb.Errno_EISDIR
		}
	}
	if sdir != ddir {
		if sn.kind == sIFDIR && !mmay(c, sn, mayWrite) {
			return pb.Errno_EACCES
		}
		if flags == renameExchange && dn.kind == sIFDIR && !mmay(c, dn, mayWrite) {
			return pb.Errno_EACCES
		}
	}
	if dn != nil && flags != renameExchange && dn.kind == sIFDIR && len(dn.kids) > 0 {
		return pb.Errno_ENOTEMPTY
	}
	return mok
}

func (m *model) chmod(c cred, path string, perm uint32) merr {
	n, e := m.walk(c, path, true)
	switch {
	case e != mok:
		return e
	case !c.root() && c.uid != n.uid:
		return pb.Errno_EPERM
	}
	n.perm = perm
	return mok
}

func (m *model) truncate(c cred, path string, size uint64) merr {
	n, e := m.walk(c, path, true)
	switch {
	case e != mok:
		return e
	case n.kind == sIFDIR:
		return pb.Errno_EISDIR
	case !mmay(c, n, mayWrite):
		return pb.Errno_EACCES
	}
	n.size = size
	return mok
}

func (m *model) setXattr(c cred, path, name string, flags uint32) merr {
	n, e := m.walk(c, path, true)
	switch {
	case e != mok:
		return e
	case !mmay(c, n, mayWrite):
		return pb.Errno_EACCES
	case n.xattrs[name] && flags == xattrCreate:
		return pb.Errno_EEXIST
	case !n.xattrs[name] && flags == xattrReplace:
		return pb.Errno_ENODATA
	}
	n.xattrs[name] = true
	return mok
}

func (m *model) removeXattr(c cred, path, name string) merr {
	n, e := m.walk(c, path, true)
	switch {
	case e != mok:
		return e
	case !mmay(c, n, mayWrite):
		return pb.Errno_EACCES
	case !n.xattrs[name]:
		return pb.Errno_ENODATA
	}
	delete(n.xattrs, name)
	return mok
}

func (m *model) open(c cred, path string, flags uint32) (*mnode, merr) {
	n, e := m.walk(c, path, true)
	if e != mok {
		return nil, e
	}
	mask, _ := accessMask(flags)
	switch {
	case n.kind == sIFDIR && mask&mayWrite != 0:
		return nil, pb.Errno_EISDIR
	case !mmay(c, n, mask):
		return nil, pb.Errno_EACCES
	}
	n.open++
	return n, mok
}

func (m *model) release(h uint64) merr {
	n := m.handles[h]
	if n == nil {
		return pb.Errno_EBADF
	}
	delete(m.handles, h)
	n.open--
	if n.open == 0 && n.nlink == 0 {
		delete(m.orphans, n.id)
	}
	return mok
}

func (m *model) removeAll(c cred, path string) merr {
	dir, name, n, e := m.removeAt(c, path)
	if e != mok {
		return e
	}
	if n.kind == sIFDIR {
		if e := m.planRemoval(c, n); e != mok {
			return e
		}
		m.removeTree(n)
	}
	delete(dir.kids, name)
	m.unref(n)
	return mok
}

func (m *model) planRemoval(c cred, dir *mnode) merr {
	mask := uint32(mayRead | mayExec)
	if len(dir.kids) > 0 {
		mask |= mayWrite
	}
	if !mmay(c, dir, mask) {
		return pb.Errno_EACCES
	}
	for _, k := range dir.kids {
		if k.kind == sIFDIR {
			if e := m.planRemoval(c, k); e != mok {
				return e
			}
		}
	}
	return mok
}

func (m *model) removeTree(dir *mnode) {
	for name, k := range dir.kids {
		if k.kind == sIFDIR {
			m.removeTree(k)
		}
		delete(dir.kids, name)
		m.unref(k)
	}
}

func (m *model) mkdirAll(c cred, path string, perm uint32) merr {
	if e := ErrnoOf(ValidatePath(path)); e != mok {
		return e
	}
	comps := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	cur := m.root
	for i, comp := range comps {
		switch {
		case cur.kind != sIFDIR:
			return pb.Errno_ENOTDIR
		case !mmay(c, cur, mayExec):
			return pb.Errno_EACCES
		}
		next := cur.kids[comp]
		if next == nil {
			return m.mkdirChain(c, cur, comps[i:], perm)
		}
		if next.kind == sIFLNK {
			links := 1
			start := cur
			if strings.HasPrefix(next.target, "/") {
				start = m.root
			}
			var e merr
			if next, e = m.walkFrom(c, start, next.target, true, &links); e == pb.Errno_ENOENT {
				return pb.Errno_EEXIST
			} else if e != mok {
				return e
			}
		}
		if next.kind != sIFDIR {
			if i == len(comps)-1 {
				return pb.Errno_EEXIST
			}
			return pb.Errno_ENOTDIR
		}
		cur = next
	}
	return mok
}

func (m *model) mkdirChain(c cred, dir *mnode, names []string, perm uint32) merr {
	if dir.nlink == 0 {
		return pb.Errno_ENOENT
	}
	if !mmay(c, dir, mayWrite|mayExec) {
		return pb.Errno_EACCES
	}
	for i, name := range names {
		p := perm
		if i < len(names)-1 {
			p |= 0o300
		}
		n := m.newNode(sIFDIR, p, c, dir)
		dir.kids[name] = n
		dir = n
	}
	return mok
}

// dump lists the tree as "path type perm uid nlink size target [xattrs] #id".
func (m *model) dump() []string {
	var out []string
	var walk func(d *mnode, prefix string)
	walk = func(d *mnode, prefix string) {
		names := make([]string, 0, len(d.kids))
		for name := range d.kids {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			n := d.kids[name]
			nlink := uint32(n.nlink)
			size := n.size
			if n.kind == sIFDIR {
				nlink, size = 2, uint64(len(n.kids))
				for _, k := range n.kids {
					if k.kind == sIFDIR {
						nlink++
					}
				}
			}
			out = append(out, dumpLine(prefix+"/"+name, n.kind|n.perm, n.uid, nlink, size, n.target, n.xattrs))
			if n.kind == sIFDIR {
				walk(n, prefix+"/"+name)
			}
		}
	}
	walk(m.root, "")
	return out
}

func dumpLine(path string, mode, uid, nlink uint32, size uint64, target string, xattrs map[string]bool) string {
	var xs []string
	for x := range xattrs {
		xs = append(xs, x)
	}
	sort.Strings(xs)
	return strings.Join([]string{path, typeName(mode), strconvOct(mode & permMask), itoa(uint64(uid)),
		itoa(uint64(nlink)), itoa(size), target, "[" + strings.Join(xs, ",") + "]"}, " ")
}

// stats counts what the namespace's StatFs should report.
func (m *model) stats() Stats {
	seen := map[int]bool{}
	var s Stats
	var count func(n *mnode)
	count = func(n *mnode) {
		if seen[n.id] {
			return
		}
		seen[n.id] = true
		s.Inodes++
		if n.kind == sIFDIR {
			s.Dirs++
			for _, k := range n.kids {
				count(k)
			}
			return
		}
		s.Files++
		if n.kind == sIFREG {
			s.Bytes += n.size
		}
	}
	count(m.root)
	for _, n := range m.orphans {
		count(n)
	}
	return s
}
