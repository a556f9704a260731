package main

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	"github.com/anishathalye/porcupine"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// The robustness suite's sequential specification: a small namespace under
// one directory (the run's root), as a map from path to inode and from
// inode to mode. It follows the namespace's rules exactly for what the
// workload can do as root: the checks and their order in create.go,
// remove.go, rename.go, setattr.go and resolve.go. Symlinks all point at a
// target that does not exist, so resolving through one is ENOENT and the
// model never has to follow a link.

// nsOp is one kind of operation of the workload.
type nsOp uint8

const (
	opLstat nsOp = iota
	opReadDir
	opCreate
	opMkdir
	opRename
	opUnlink
	opRmdir
	opChmod
	opLink
	opSymlink
)

var opNames = [...]string{"lstat", "readdir", "create", "mkdir", "rename", "unlink", "rmdir", "chmod", "link", "symlink"}

func (o nsOp) String() string { return opNames[o] }

func (o nsOp) isRead() bool { return o == opLstat || o == opReadDir }

// symlinkTarget is where every symlink points: nothing, ever.
const symlinkTarget = "/nonexistent-target"

// nsInput is one call. Paths are relative to the run's root ("" is the root).
type nsInput struct {
	Op    nsOp
	Path  string
	Path2 string // rename and link: the new name
	Mode  uint32 // create, mkdir (permission bits), chmod
	ID    int    // unique per call: the model's inode number for what it creates
}

// nsOutput is what the call returned.
type nsOutput struct {
	Unknown bool     // failed without a definite outcome: it may or may not have happened
	Errno   pb.Errno // OK or the rejection
	Mode    uint32   // lstat
	Nlink   uint32   // lstat
	Entries string   // readdir: "name:mode" in name order, comma separated
}

const (
	modeDir   = 0o040000
	modeReg   = 0o100000
	modeLnk   = 0o120000
	modeType  = 0o170000
	permBits  = 0o7777
	modelRoot = 0 // inode of the run's root
)

// nsState is immutable: every step returns a new one.
type nsState struct {
	names map[string]int // path → inode
	modes map[int]uint32 // inode → mode; the root is there too
	key   string         // canonical encoding (Equal, Hash)
}

func newNsState() *nsState {
	s := &nsState{names: map[string]int{}, modes: map[int]uint32{modelRoot: modeDir | 0o755}}
	s.seal()
	return s
}

func (s *nsState) clone() *nsState {
	n := &nsState{names: make(map[string]int, len(s.names)+1), modes: make(map[int]uint32, len(s.modes)+1)}
	for k, v := range s.names {
		n.names[k] = v
	}
	for k, v := range s.modes {
		n.modes[k] = v
	}
	return n
}

// seal computes the canonical key once the state is final.
func (s *nsState) seal() {
	paths := make([]string, 0, len(s.names))
	for p := range s.names {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b strings.Builder
	for _, p := range paths {
		ino := s.names[p]
		fmt.Fprintf(&b, "%s=%d:%o;", p, ino, s.modes[ino])
	}
	s.key = b.String()
}

func (s *nsState) isDir(ino int) bool  { return s.modes[ino]&modeType == modeDir }
func (s *nsState) isLink(ino int) bool { return s.modes[ino]&modeType == modeLnk }

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func splitPath(p string) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// walk resolves path from the root, as the namespace's walker: a symlink
// met in the middle, or at the end when following, leads nowhere.
func (s *nsState) walk(path string, follow bool) (int, pb.Errno) {
	if path == "" {
		return modelRoot, pb.Errno_OK
	}
	comps := strings.Split(path, "/")
	cur, ino := "", modelRoot
	for i, c := range comps {
		if !s.isDir(ino) {
			return 0, pb.Errno_ENOTDIR
		}
		cur = joinPath(cur, c)
		next, ok := s.names[cur]
		if !ok {
			return 0, pb.Errno_ENOENT
		}
		if s.isLink(next) && (i < len(comps)-1 || follow) {
			return 0, pb.Errno_ENOENT
		}
		ino = next
	}
	return ino, pb.Errno_OK
}

// walkParent resolves the directory of path; no symlink can be crossed, so
// its path is the textual one.
func (s *nsState) walkParent(path string) (string, pb.Errno) {
	dir, _ := splitPath(path)
	ino, e := s.walk(dir, true)
	if e != pb.Errno_OK {
		return "", e
	}
	if !s.isDir(ino) {
		return "", pb.Errno_ENOTDIR
	}
	return dir, pb.Errno_OK
}

// children lists the names directly in directory dir, sorted.
func (s *nsState) children(dir string) []string {
	var out []string
	for p := range s.names {
		if d, name := splitPath(p); d == dir {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func (s *nsState) nlink(path string, ino int) uint32 {
	if s.isDir(ino) {
		n := uint32(2)
		for _, c := range s.children(path) {
			if s.isDir(s.names[joinPath(path, c)]) {
				n++
			}
		}
		return n
	}
	n := uint32(0)
	for _, i := range s.names {
		if i == ino {
			n++
		}
	}
	return n
}

// drop removes name path; the inode goes with its last name.
func (s *nsState) drop(path string) {
	ino := s.names[path]
	delete(s.names, path)
	for _, i := range s.names {
		if i == ino {
			return
		}
	}
	delete(s.modes, ino)
}

// step applies in to s and returns the result and the next state (s itself
// when nothing changed).
func (s *nsState) step(in nsInput) (nsOutput, *nsState) {
	switch in.Op {
	case opLstat:
		ino, e := s.walk(in.Path, false)
		if e != pb.Errno_OK {
			return nsOutput{Errno: e}, s
		}
		return nsOutput{Mode: s.modes[ino], Nlink: s.nlink(in.Path, ino)}, s
	case opReadDir:
		return s.readDir(in.Path), s
	case opCreate, opMkdir, opSymlink:
		return s.create(in)
	case opLink:
		return s.link(in)
	case opUnlink, opRmdir:
		return s.remove(in)
	case opRename:
		return s.rename(in)
	case opChmod:
		ino, e := s.walk(in.Path, true)
		if e != pb.Errno_OK {
			return nsOutput{Errno: e}, s
		}
		n := s.clone()
		n.modes[ino] = s.modes[ino]&modeType | in.Mode&permBits
		n.seal()
		return nsOutput{}, n
	}
	panic(fmt.Sprintf("unknown op %d", in.Op))
}

func (s *nsState) readDir(path string) nsOutput {
	ino, e := s.walk(path, true)
	if e == pb.Errno_OK && !s.isDir(ino) {
		e = pb.Errno_ENOTDIR
	}
	if e != pb.Errno_OK {
		return nsOutput{Errno: e}
	}
	var ents []string
	for _, c := range s.children(path) {
		ents = append(ents, fmt.Sprintf("%s:%o", c, s.modes[s.names[joinPath(path, c)]]))
	}
	return nsOutput{Entries: strings.Join(ents, ",")}
}

// create is mkdir, exclusive create and symlink: the name must be free.
func (s *nsState) create(in nsInput) (nsOutput, *nsState) {
	if _, e := s.walkParent(in.Path); e != pb.Errno_OK {
		return nsOutput{Errno: e}, s
	}
	if _, ok := s.names[in.Path]; ok {
		return nsOutput{Errno: pb.Errno_EEXIST}, s
	}
	mode := modeReg | in.Mode&permBits
	switch in.Op {
	case opMkdir:
		mode = modeDir | in.Mode&0o1777
	case opSymlink:
		mode = modeLnk | 0o777
	}
	n := s.clone()
	n.names[in.Path] = in.ID
	n.modes[in.ID] = mode
	n.seal()
	return nsOutput{}, n
}

func (s *nsState) link(in nsInput) (nsOutput, *nsState) {
	src, e := s.walk(in.Path, false)
	if e != pb.Errno_OK {
		return nsOutput{Errno: e}, s
	}
	if _, e := s.walkParent(in.Path2); e != pb.Errno_OK {
		return nsOutput{Errno: e}, s
	}
	if _, ok := s.names[in.Path2]; ok {
		return nsOutput{Errno: pb.Errno_EEXIST}, s
	}
	if s.isDir(src) {
		return nsOutput{Errno: pb.Errno_EPERM}, s
	}
	n := s.clone()
	n.names[in.Path2] = src
	n.seal()
	return nsOutput{}, n
}

// remove is unlink and rmdir.
func (s *nsState) remove(in nsInput) (nsOutput, *nsState) {
	if _, e := s.walkParent(in.Path); e != pb.Errno_OK {
		return nsOutput{Errno: e}, s
	}
	ino, ok := s.names[in.Path]
	switch {
	case !ok:
		return nsOutput{Errno: pb.Errno_ENOENT}, s
	case in.Op == opUnlink && s.isDir(ino):
		return nsOutput{Errno: pb.Errno_EISDIR}, s
	case in.Op == opRmdir && !s.isDir(ino):
		return nsOutput{Errno: pb.Errno_ENOTDIR}, s
	case in.Op == opRmdir && len(s.children(in.Path)) > 0:
		return nsOutput{Errno: pb.Errno_ENOTEMPTY}, s
	}
	n := s.clone()
	n.drop(in.Path)
	n.seal()
	return nsOutput{}, n
}

func within(p, anc string) bool { return p == anc || strings.HasPrefix(p, anc+"/") }

// rename follows resolveRename, checkSubtree, the same-inode rule and
// checkRename, in that order.
func (s *nsState) rename(in nsInput) (nsOutput, *nsState) {
	from, to := in.Path, in.Path2
	sdir, e := s.walkParent(from)
	if e != pb.Errno_OK {
		return nsOutput{Errno: e}, s
	}
	src, ok := s.names[from]
	if !ok {
		return nsOutput{Errno: pb.Errno_ENOENT}, s
	}
	ddir, e := s.walkParent(to)
	if e != pb.Errno_OK {
		return nsOutput{Errno: e}, s
	}
	dst, found := s.names[to]
	if sdir != ddir {
		if s.isDir(src) && within(ddir, from) {
			return nsOutput{Errno: pb.Errno_EINVAL}, s
		}
		if found && s.isDir(dst) && within(sdir, to) {
			return nsOutput{Errno: pb.Errno_ENOTEMPTY}, s
		}
	}
	if found && dst == src {
		return nsOutput{}, s
	}
	if found {
		switch {
		case s.isDir(src) && !s.isDir(dst):
			return nsOutput{Errno: pb.Errno_ENOTDIR}, s
		case !s.isDir(src) && s.isDir(dst):
			return nsOutput{Errno: pb.Errno_EISDIR}, s
		case s.isDir(dst) && len(s.children(to)) > 0:
			return nsOutput{Errno: pb.Errno_ENOTEMPTY}, s
		}
	}
	n := s.clone()
	if found {
		n.drop(to)
	}
	for p, ino := range s.names {
		if within(p, from) {
			delete(n.names, p)
			n.names[to+p[len(from):]] = ino
		}
	}
	n.seal()
	return nsOutput{}, n
}

// nsModel is the porcupine model of the namespace.
var nsModel = porcupine.Model{
	Init: func() any { return newNsState() },
	Step: func(state, input, output any) (bool, any) {
		want, next := state.(*nsState).step(input.(nsInput))
		out := output.(nsOutput)
		if out.Unknown {
			return true, next
		}
		return want == out, next
	},
	Equal: func(a, b any) bool { return a.(*nsState).key == b.(*nsState).key },
	Hash: func(state any) uint64 {
		h := fnv.New64a()
		h.Write([]byte(state.(*nsState).key))
		return h.Sum64()
	},
	DescribeOperation: func(input, output any) string {
		return describeOp(input.(nsInput), output.(nsOutput))
	},
	DescribeState: func(state any) string { return state.(*nsState).key },
}

func describeOp(in nsInput, out nsOutput) string {
	call := fmt.Sprintf("%s(%s)", in.Op, in.Path)
	switch in.Op {
	case opRename, opLink:
		call = fmt.Sprintf("%s(%s, %s)", in.Op, in.Path, in.Path2)
	case opCreate, opMkdir, opChmod:
		call = fmt.Sprintf("%s(%s, %o)", in.Op, in.Path, in.Mode)
	}
	switch {
	case out.Unknown:
		return call + " -> ?"
	case out.Errno != pb.Errno_OK:
		return call + " -> " + out.Errno.String()
	case in.Op == opLstat:
		return fmt.Sprintf("%s -> %o nlink %d", call, out.Mode, out.Nlink)
	case in.Op == opReadDir:
		return call + " -> [" + out.Entries + "]"
	}
	return call + " -> ok"
}
