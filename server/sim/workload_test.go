package sim

import (
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// The workload: random operations on a small name space (three names,
// up to three levels), so operations collide often.

var (
	names     = []string{"a", "b", "c"}
	dirPerms  = []uint32{0o755, 0o750, 0o700}
	filePerms = []uint32{0o644, 0o640, 0o600}
	allPerms  = append(append([]uint32{}, dirPerms...), filePerms...)
)

const sIFREG = 0o100000

func randomPath(w *world) string {
	depth := 1
	switch r := w.rng.IntN(10); {
	case r >= 9:
		depth = 3
	case r >= 5:
		depth = 2
	}
	p := ""
	for range depth {
		p += "/" + names[w.rng.IntN(len(names))]
	}
	return p
}

func pick[T any](w *world, xs []T) T { return xs[w.rng.IntN(len(xs))] }

// randomOp draws an operation: mostly creations and reads, with enough
// removals and renames to keep the tree changing.
func randomOp(w *world) opInput {
	in := opInput{path: randomPath(w)}
	switch r := w.rng.IntN(100); {
	case r < 20:
		in.kind, in.perm = opMkdir, pick(w, dirPerms)
	case r < 35:
		in.kind, in.perm = opCreate, pick(w, filePerms)
	case r < 45:
		in.kind = opUnlink
	case r < 55:
		in.kind = opRmdir
	case r < 70:
		in.kind, in.path2 = opRename, randomPath(w)
		in.flags = pick(w, []uint32{0, 0, 0, renameNoReplace, renameExchange})
	case r < 78:
		in.kind, in.perm = opChmod, pick(w, allPerms)
	default:
		in.kind = opStat
	}
	return in
}

const setAttrMode = 1

// commandFor builds the namespace command of a write (exactly-once fields
// are filled in by the client).
func commandFor(in opInput) *pb.Command {
	loc := &pb.Loc{Path: in.path}
	switch in.kind {
	case opMkdir:
		return &pb.Command{Op: &pb.Command_Mkdir{Mkdir: &pb.Mkdir{Loc: loc, Mode: in.perm}}}
	case opCreate:
		return &pb.Command{Op: &pb.Command_Mknod{Mknod: &pb.Mknod{Loc: loc, Mode: sIFREG | in.perm, Exclusive: true}}}
	case opUnlink:
		return &pb.Command{Op: &pb.Command_Unlink{Unlink: &pb.Unlink{Loc: loc}}}
	case opRmdir:
		return &pb.Command{Op: &pb.Command_Rmdir{Rmdir: &pb.Rmdir{Loc: loc}}}
	case opRename:
		return &pb.Command{Op: &pb.Command_Rename{Rename: &pb.Rename{From: loc, To: &pb.Loc{Path: in.path2}, Flags: in.flags}}}
	case opChmod:
		return &pb.Command{Op: &pb.Command_SetAttr{SetAttr: &pb.SetAttr{Path: in.path, Valid: setAttrMode, Mode: in.perm}}}
	}
	panic("not a write: " + in.kind.String())
}
