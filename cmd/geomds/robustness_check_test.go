package main

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
)

// The robustness suite trusts two things besides the cluster: that the model
// is the namespace's exact sequential behaviour for the workload, and that
// the checker rejects histories that are not linearizable. Both are tested
// here, in process and fast.

// TestRobustnessModelMatchesNamespace runs the same random sequence of
// workload calls through the model and through namespace.Apply on an
// in-memory store: every output must agree, so a violation reported by
// the robustness run is the cluster's, not the model's.
func TestRobustnessModelMatchesNamespace(t *testing.T) {
	tx := namespace.NewMemTx()
	if err := namespace.Init(tx, 1); err != nil {
		t.Fatal(err)
	}
	const root = "/r"
	if res, err := namespace.Apply(tx, &pb.Command{TimeNs: 1, Op: &pb.Command_Mkdir{Mkdir: &pb.Mkdir{Loc: &pb.Loc{Path: root}, Mode: 0o755}}}); err != nil || res.GetErrno() != pb.Errno_OK {
		t.Fatal(res, err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	s := newNsState()
	seen := map[nsOp]map[pb.Errno]int{}
	for i := 1; i <= 20000; i++ {
		in := randomInput(r, i)
		want, next := s.step(in)
		got := applyLocal(t, tx, root, in, int64(i+1))
		if got != want {
			t.Fatalf("call %d %s: namespace %+v, model %+v\nmodel state: %s", i, describeOp(in, got), got, want, s.key)
		}
		s = next
		if seen[in.Op] == nil {
			seen[in.Op] = map[pb.Errno]int{}
		}
		seen[in.Op][got.Errno]++
		if i%1000 == 0 {
			if err := namespace.Check(tx); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The sequence must reach the interesting cases, or the test proves little.
	for _, c := range []struct {
		op nsOp
		e  pb.Errno
	}{{opRename, pb.Errno_OK}, {opRename, pb.Errno_ENOTEMPTY}, {opRename, pb.Errno_EINVAL}, {opRmdir, pb.Errno_ENOTEMPTY},
		{opUnlink, pb.Errno_EISDIR}, {opLink, pb.Errno_OK}, {opLink, pb.Errno_EPERM}, {opCreate, pb.Errno_ENOTDIR}, {opChmod, pb.Errno_OK}} {
		if seen[c.op][c.e] == 0 {
			t.Errorf("%s never returned %s: %v", c.op, c.e, seen[c.op])
		}
	}
}

// applyLocal performs in on tx as the cluster would, as root.
func applyLocal(t *testing.T, tx *namespace.MemTx, root string, in nsInput, now int64) nsOutput {
	t.Helper()
	abs := func(p string) string {
		if p == "" {
			return root
		}
		return root + "/" + p
	}
	p := abs(in.Path)
	switch in.Op {
	case opLstat:
		a, err := namespace.Resolve(tx, nil, p, false)
		if err != nil {
			return nsOutput{Errno: namespace.ErrnoOf(err)}
		}
		return nsOutput{Mode: a.GetMode(), Nlink: a.GetNlink()}
	case opReadDir:
		a, err := namespace.Resolve(tx, nil, p, true)
		if err != nil {
			return nsOutput{Errno: namespace.ErrnoOf(err)}
		}
		ents, _, _, err := namespace.ReadDir(tx, nil, a.GetIno(), "", 0, true)
		if err != nil {
			return nsOutput{Errno: namespace.ErrnoOf(err)}
		}
		return nsOutput{Entries: formatEntries(ents)}
	}
	cmd := &pb.Command{TimeNs: now}
	loc := &pb.Loc{Path: p}
	switch in.Op {
	case opCreate:
		cmd.Op = &pb.Command_Mknod{Mknod: &pb.Mknod{Loc: loc, Mode: 0o100000 | in.Mode, Exclusive: true}}
	case opMkdir:
		cmd.Op = &pb.Command_Mkdir{Mkdir: &pb.Mkdir{Loc: loc, Mode: in.Mode}}
	case opRename:
		cmd.Op = &pb.Command_Rename{Rename: &pb.Rename{From: loc, To: &pb.Loc{Path: abs(in.Path2)}}}
	case opUnlink:
		cmd.Op = &pb.Command_Unlink{Unlink: &pb.Unlink{Loc: loc}}
	case opRmdir:
		cmd.Op = &pb.Command_Rmdir{Rmdir: &pb.Rmdir{Loc: loc}}
	case opChmod:
		cmd.Op = &pb.Command_SetAttr{SetAttr: &pb.SetAttr{Path: p, Valid: 1, Mode: in.Mode}}
	case opLink:
		cmd.Op = &pb.Command_Link{Link: &pb.Link{Path: p, NewLoc: &pb.Loc{Path: abs(in.Path2)}}}
	case opSymlink:
		cmd.Op = &pb.Command_Symlink{Symlink: &pb.Symlink{Loc: loc, Target: symlinkTarget}}
	}
	res, err := namespace.Apply(tx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	return nsOutput{Errno: res.GetErrno()}
}

// TestRobustnessCheckerFails feeds the checker small histories, legal and
// not: it must say Illegal exactly for the ones no order explains.
func TestRobustnessCheckerFails(t *testing.T) {
	const inf = math.MaxInt64
	mk := func(cli int, in nsInput, out nsOutput, call, ret int64) porcupine.Operation {
		return porcupine.Operation{ClientId: cli, Input: in, Output: out, Call: call, Return: ret}
	}
	create := nsInput{Op: opCreate, Path: "a", Mode: 0o644, ID: 1}
	lstat := nsInput{Op: opLstat, Path: "a"}
	exists := nsOutput{Mode: modeReg | 0o644, Nlink: 1}
	missing := nsOutput{Errno: pb.Errno_ENOENT}
	unknown := nsOutput{Unknown: true}
	cases := []struct {
		name string
		ops  []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"read after write", []porcupine.Operation{mk(0, create, nsOutput{}, 0, 10), mk(1, lstat, exists, 20, 30)}, porcupine.Ok},
		{"stale read after write", []porcupine.Operation{mk(0, create, nsOutput{}, 0, 10), mk(1, lstat, missing, 20, 30)}, porcupine.Illegal},
		{"concurrent read may miss", []porcupine.Operation{mk(0, create, nsOutput{}, 0, 30), mk(1, lstat, missing, 10, 20)}, porcupine.Ok},
		{"read of a write never made", []porcupine.Operation{mk(1, lstat, exists, 0, 10)}, porcupine.Illegal},
		{"wrong mode", []porcupine.Operation{mk(0, create, nsOutput{}, 0, 10), mk(1, lstat, nsOutput{Mode: modeReg | 0o600, Nlink: 1}, 20, 30)}, porcupine.Illegal},
		{"unknown write may not happen", []porcupine.Operation{mk(0, create, unknown, 0, inf), mk(1, lstat, missing, 20, 30)}, porcupine.Ok},
		{"unknown write may happen late", []porcupine.Operation{mk(0, create, unknown, 0, inf), mk(1, lstat, missing, 20, 30), mk(1, lstat, exists, 40, 50)}, porcupine.Ok},
		{"unknown write cannot unhappen", []porcupine.Operation{mk(0, create, unknown, 0, inf), mk(1, lstat, exists, 20, 30), mk(2, lstat, missing, 40, 50)}, porcupine.Illegal},
		{"duplicate create", []porcupine.Operation{mk(0, create, nsOutput{}, 0, 10), mk(1, nsInput{Op: opCreate, Path: "a", Mode: 0o644, ID: 2}, nsOutput{}, 20, 30)}, porcupine.Illegal},
		{"lost rename", []porcupine.Operation{
			mk(0, create, nsOutput{}, 0, 10),
			mk(0, nsInput{Op: opRename, Path: "a", Path2: "b"}, nsOutput{}, 20, 30),
			mk(1, nsInput{Op: opReadDir}, nsOutput{Entries: "a:100644"}, 40, 50),
		}, porcupine.Illegal},
	}
	for _, c := range cases {
		got, _ := porcupine.CheckOperationsVerbose(nsModel, c.ops, 10*time.Second)
		if got != c.want {
			t.Errorf("%s: checker says %s, want %s", c.name, got, c.want)
		}
	}
}
