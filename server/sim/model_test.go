package sim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/anishathalye/porcupine"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// The sequential specification the clients' history is checked against: a
// tree of directories and regular files named by absolute paths, with the
// POSIX rules the namespace applies for root (no permission checks). Inode
// numbers come from a counter starting at 2, as in the namespace, so a
// history is linearizable only if creations happened in an order that
// explains the inode numbers the clients saw.

type opKind uint8

const (
	opMkdir opKind = iota
	opCreate
	opUnlink
	opRmdir
	opRename
	opChmod
	opStat // a linearizable read (ReadIndex, then a local lookup)
)

var opNames = [...]string{"mkdir", "create", "unlink", "rmdir", "rename", "chmod", "stat"}

func (k opKind) String() string { return opNames[k] }

// opInput is one client operation.
type opInput struct {
	kind  opKind
	path  string
	path2 string // rename target
	perm  uint32 // mkdir, create, chmod
	flags uint32 // rename: 0, RENAME_NOREPLACE (1) or RENAME_EXCHANGE (2)
}

// opOutput is what the client saw. unknown: the outcome was never learned
// (the operation may or may not have taken effect).
type opOutput struct {
	unknown bool
	errno   pb.Errno
	ino     uint64 // mkdir, create, chmod, stat
	dir     bool   // stat
	perm    uint32 // mkdir, create, chmod, stat
}

func (in opInput) String() string {
	switch in.kind {
	case opRename:
		return fmt.Sprintf("rename(%s, %s, %d)", in.path, in.path2, in.flags)
	case opMkdir, opCreate, opChmod:
		return fmt.Sprintf("%s(%s, %#o)", in.kind, in.path, in.perm)
	}
	return fmt.Sprintf("%s(%s)", in.kind, in.path)
}

func (o opOutput) String() string {
	switch {
	case o.unknown:
		return "unknown"
	case o.errno != pb.Errno_OK:
		return o.errno.String()
	case o.ino != 0:
		return fmt.Sprintf("ok ino=%d dir=%v perm=%#o", o.ino, o.dir, o.perm)
	}
	return "ok"
}

// mEntry is one name in the model tree.
type mEntry struct {
	ino  uint64
	dir  bool
	perm uint32
}

// mTree is a mutable working copy of a model state.
type mTree struct {
	names map[string]mEntry // absolute path -> entry; "/" is implicit
	next  uint64            // the next inode number
}

// modelState is the immutable, comparable form porcupine keeps: the tree
// encoded canonically (sorted paths).
type modelState string

func initialState() modelState { return encodeTree(&mTree{names: map[string]mEntry{}, next: 2}) }

func encodeTree(t *mTree) modelState {
	paths := make([]string, 0, len(t.names))
	for p := range t.names {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b strings.Builder
	b.WriteString(strconv.FormatUint(t.next, 10))
	for _, p := range paths {
		e := t.names[p]
		kind := "f"
		if e.dir {
			kind = "d"
		}
		fmt.Fprintf(&b, "\n%s %s %d %o", p, kind, e.ino, e.perm)
	}
	return modelState(b.String())
}

func decodeTree(s modelState) *mTree {
	lines := strings.Split(string(s), "\n")
	next, _ := strconv.ParseUint(lines[0], 10, 64)
	t := &mTree{names: make(map[string]mEntry, len(lines)), next: next}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		ino, _ := strconv.ParseUint(f[2], 10, 64)
		perm, _ := strconv.ParseUint(f[3], 8, 32)
		t.names[f[0]] = mEntry{ino: ino, dir: f[1] == "d", perm: uint32(perm)}
	}
	return t
}

var rootEntry = mEntry{ino: 1, dir: true, perm: 0o755}

// resolve walks p component by component as the namespace does.
func (t *mTree) resolve(p string) (mEntry, pb.Errno) {
	cur, at := rootEntry, ""
	for _, comp := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if comp == "" {
			continue
		}
		if !cur.dir {
			return mEntry{}, pb.Errno_ENOTDIR
		}
		at += "/" + comp
		next, ok := t.names[at]
		if !ok {
			return mEntry{}, pb.Errno_ENOENT
		}
		cur = next
	}
	return cur, pb.Errno_OK
}

func parentPath(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// lookup resolves p's parent, which must be a directory; the entry itself
// may be absent (ok false).
func (t *mTree) lookup(p string) (e mEntry, ok bool, errno pb.Errno) {
	d, errno := t.resolve(parentPath(p))
	if errno != pb.Errno_OK {
		return mEntry{}, false, errno
	}
	if !d.dir {
		return mEntry{}, false, pb.Errno_ENOTDIR
	}
	e, ok = t.names[p]
	return e, ok, pb.Errno_OK
}

func (t *mTree) hasChildren(p string) bool {
	for q := range t.names {
		if strings.HasPrefix(q, p+"/") {
			return true
		}
	}
	return false
}

// within reports whether path d is a or lies below it.
func within(d, a string) bool { return d == a || strings.HasPrefix(d, a+"/") }

// step applies in to t and returns the expected outcome.
func (t *mTree) step(in opInput) opOutput {
	switch in.kind {
	case opMkdir, opCreate:
		return t.create(in.path, in.kind == opMkdir, in.perm)
	case opUnlink, opRmdir:
		return opOutput{errno: t.remove(in.path, in.kind == opRmdir)}
	case opRename:
		return opOutput{errno: t.rename(in.path, in.path2, in.flags)}
	case opChmod:
		e, errno := t.resolve(in.path)
		if errno != pb.Errno_OK {
			return opOutput{errno: errno}
		}
		e.perm = in.perm
		if in.path != "/" {
			t.names[in.path] = e
		}
		return opOutput{ino: e.ino, dir: e.dir, perm: e.perm}
	case opStat:
		e, errno := t.resolve(in.path)
		if errno != pb.Errno_OK {
			return opOutput{errno: errno}
		}
		return opOutput{ino: e.ino, dir: e.dir, perm: e.perm}
	}
	panic("unknown op")
}

func (t *mTree) create(p string, dir bool, perm uint32) opOutput {
	_, exists, errno := t.lookup(p)
	switch {
	case errno != pb.Errno_OK:
		return opOutput{errno: errno}
	case exists:
		return opOutput{errno: pb.Errno_EEXIST}
	}
	e := mEntry{ino: t.next, dir: dir, perm: perm}
	t.next++
	t.names[p] = e
	return opOutput{ino: e.ino, dir: dir, perm: perm}
}

func (t *mTree) remove(p string, rmdir bool) pb.Errno {
	e, exists, errno := t.lookup(p)
	switch {
	case errno != pb.Errno_OK:
		return errno
	case !exists:
		return pb.Errno_ENOENT
	case !rmdir && e.dir:
		return pb.Errno_EISDIR
	case rmdir && !e.dir:
		return pb.Errno_ENOTDIR
	case rmdir && t.hasChildren(p):
		return pb.Errno_ENOTEMPTY
	}
	delete(t.names, p)
	return pb.Errno_OK
}

const (
	renameNoReplace = 1
	renameExchange  = 2
)

func (t *mTree) rename(from, to string, flags uint32) pb.Errno {
	sn, ok, errno := t.lookup(from)
	if errno == pb.Errno_OK && !ok {
		errno = pb.Errno_ENOENT
	}
	if errno != pb.Errno_OK {
		return errno
	}
	dn, dok, errno := t.lookup(to)
	switch {
	case errno != pb.Errno_OK:
		return errno
	case flags == renameNoReplace && dok:
		return pb.Errno_EEXIST
	case flags == renameExchange && !dok:
		return pb.Errno_ENOENT
	}
	sdir, ddir := parentPath(from), parentPath(to)
	if sdir != ddir {
		if sn.dir && within(ddir, from) {
			return pb.Errno_EINVAL
		}
		if dok && dn.dir && within(sdir, to) {
			if flags == renameExchange {
				return pb.Errno_EINVAL
			}
			return pb.Errno_ENOTEMPTY
		}
	}
	if dok && dn.ino == sn.ino {
		return pb.Errno_OK
	}
	if dok && flags != renameExchange {
		switch {
		case sn.dir && !dn.dir:
			return pb.Errno_ENOTDIR
		case !sn.dir && dn.dir:
			return pb.Errno_EISDIR
		case dn.dir && t.hasChildren(to):
			return pb.Errno_ENOTEMPTY
		}
	}
	if flags == renameExchange {
		a, b := t.detach(from), t.detach(to)
		t.attach(to, a)
		t.attach(from, b)
		return pb.Errno_OK
	}
	if dok {
		delete(t.names, to)
	}
	t.attach(to, t.detach(from))
	return pb.Errno_OK
}

// detach removes p and everything below it, returning them keyed by their
// path relative to p ("" for p itself).
func (t *mTree) detach(p string) map[string]mEntry {
	out := map[string]mEntry{}
	for q, e := range t.names {
		if within(q, p) {
			out[strings.TrimPrefix(q, p)] = e
			delete(t.names, q)
		}
	}
	return out
}

func (t *mTree) attach(p string, sub map[string]mEntry) {
	for rel, e := range sub {
		t.names[p+rel] = e
	}
}

// matches compares what the client saw with what the model expects.
func matches(in opInput, want, got opOutput) bool {
	if got.unknown {
		return true
	}
	if want.errno != got.errno {
		return false
	}
	if want.errno != pb.Errno_OK {
		return true
	}
	switch in.kind {
	case opMkdir, opCreate, opChmod:
		return want.ino == got.ino && want.perm == got.perm
	case opStat:
		return want.ino == got.ino && want.dir == got.dir && want.perm == got.perm
	}
	return true
}

// namespaceModel is the porcupine model of the namespace.
func namespaceModel() porcupine.Model {
	return porcupine.Model{
		Init: func() any { return initialState() },
		Step: func(state, input, output any) (bool, any) {
			in, got := input.(opInput), output.(opOutput)
			t := decodeTree(state.(modelState))
			want := t.step(in)
			if !matches(in, want, got) {
				return false, state
			}
			if in.kind == opStat {
				return true, state
			}
			return true, encodeTree(t)
		},
		DescribeOperation: func(input, output any) string {
			return fmt.Sprintf("%v -> %v", input, output)
		},
		DescribeState: func(state any) string { return string(state.(modelState)) },
	}
}
