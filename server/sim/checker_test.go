package sim

import (
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/replica"
)

// The checkers must be able to fail: each injected defect is caught
// within a few seeds.

// firstCaught runs seeds with bug b until one fails and returns its error.
func firstCaught(t *testing.T, b bug, m mode, maxSeeds int) error {
	t.Helper()
	for seed := uint64(1); seed <= uint64(maxSeeds); seed++ {
		cfg := configFor(seed, m)
		cfg.bug = b
		if out := simulate(t, cfg); out.err != nil {
			t.Logf("seed %d: %v", seed, out.err)
			return out.err
		}
	}
	t.Fatalf("bug %d went unnoticed in %d seeds", b, maxSeeds)
	return nil
}

func TestSimCatchesSkippedApply(t *testing.T) {
	err := firstCaught(t, bugSkipApply, safetyMode, 10)
	if !strings.Contains(err.Error(), "differ") {
		t.Fatalf("caught by the wrong check: %v", err)
	}
}

func TestSimCatchesStaleReads(t *testing.T) {
	err := firstCaught(t, bugStaleRead, safetyMode, 40)
	if !strings.Contains(err.Error(), "not linearizable") {
		t.Fatalf("caught by the wrong check: %v", err)
	}
}

func TestSimCatchesDuplicateApply(t *testing.T) {
	err := firstCaught(t, bugRetryNewSeq, safetyMode, 40)
	if !strings.Contains(err.Error(), "not linearizable") {
		t.Fatalf("caught by the wrong check: %v", err)
	}
}

func TestSimCatchesNoProgress(t *testing.T) {
	err := firstCaught(t, bugNeverHeal, livenessMode, 3)
	if !strings.Contains(err.Error(), "liveness: no write committed") {
		t.Fatalf("caught by the wrong check: %v", err)
	}
}

// TestModelRejects checks the model itself on hand-written histories.
func TestModelRejects(t *testing.T) {
	op := func(c int, call, ret int64, in opInput, out opOutput) porcupine.Operation {
		return porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: ret}
	}
	mkdirA := opInput{kind: opMkdir, path: "/a", perm: 0o755}
	ok2 := opOutput{ino: 2, perm: 0o755}
	exist := opOutput{errno: pb.Errno_EEXIST}
	statA := opInput{kind: opStat, path: "/a"}
	for _, tc := range []struct {
		name string
		h    []porcupine.Operation
		ok   bool
	}{
		{"mkdir then EEXIST", []porcupine.Operation{op(0, 1, 2, mkdirA, ok2), op(1, 3, 4, mkdirA, exist)}, true},
		{"EEXIST before any mkdir", []porcupine.Operation{op(1, 1, 2, mkdirA, exist), op(0, 3, 4, mkdirA, ok2)}, false},
		{"concurrent: either order", []porcupine.Operation{op(1, 1, 4, mkdirA, exist), op(0, 2, 3, mkdirA, ok2)}, true},
		{"mkdir applied twice", []porcupine.Operation{op(0, 1, 2, mkdirA, ok2), op(0, 3, 4, mkdirA, opOutput{ino: 3, perm: 0o755})}, false},
		{"stale read", []porcupine.Operation{op(0, 1, 2, mkdirA, ok2), op(1, 3, 4, statA, opOutput{errno: pb.Errno_ENOENT})}, false},
		{"unknown may have happened", []porcupine.Operation{op(0, 1, 1<<62, mkdirA, opOutput{unknown: true}), op(1, 3, 4, statA, opOutput{ino: 2, dir: true, perm: 0o755})}, true},
		{"unknown may not have happened", []porcupine.Operation{op(0, 1, 1<<62, mkdirA, opOutput{unknown: true}), op(1, 3, 4, statA, opOutput{errno: pb.Errno_ENOENT})}, true},
	} {
		if err := checkHistory(namespaceModel(), tc.h); (err == nil) != tc.ok {
			t.Errorf("%s: linearizable=%v, want %v", tc.name, err == nil, tc.ok)
		}
	}
}

// TestRecorderCatches feeds the safety recorder each kind of violation.
func TestRecorderCatches(t *testing.T) {
	msg := func(typ raftpb.MessageType, term uint64) *raftpb.Message {
		return &raftpb.Message{Type: typ.Enum(), Term: proto.Uint64(term)}
	}
	hs := func(term, vote uint64) *raftpb.HardState {
		return &raftpb.HardState{Term: proto.Uint64(term), Vote: proto.Uint64(vote)}
	}
	ent := func(index, term uint64, data string) replica.Entry {
		return replica.Entry{Index: index, Term: term, Type: raftpb.EntryNormal, Data: []byte(data)}
	}
	for _, tc := range []struct {
		name string
		feed func(r *recorder)
		want string
	}{
		{"two leaders", func(r *recorder) {
			r.sent(1, msg(raftpb.MsgApp, 3))
			r.sent(2, msg(raftpb.MsgHeartbeat, 3))
		}, "two leaders in term 3"},
		{"vote changed", func(r *recorder) {
			r.savedHardState(1, hs(2, 1), true)
			r.savedHardState(1, hs(2, 3), true)
		}, "voted for 1 and then 3"},
		{"term went back", func(r *recorder) {
			r.savedHardState(1, hs(5, 1), true)
			r.savedHardState(1, hs(4, 1), true)
		}, "term went back"},
		{"vote not synced", func(r *recorder) { r.savedHardState(1, hs(2, 2), false) }, "without sync"},
		{"different entry", func(r *recorder) {
			r.applied(1, ent(7, 2, "x"), nil)
			r.applied(2, ent(7, 2, "y"), nil)
		}, "index 7"},
		{"gap", func(r *recorder) { r.applying(1, 5, []replica.Entry{ent(7, 2, "x")}) }, "skipped 1"},
		{"overwrite committed", func(r *recorder) {
			r.applied(1, ent(7, 2, "x"), nil)
			r.savedHardState(2, &raftpb.HardState{Term: proto.Uint64(3), Commit: proto.Uint64(7)}, true)
			r.savedEntries(2, []*raftpb.Entry{{Index: proto.Uint64(7), Term: proto.Uint64(3)}})
		}, "committed with term 2"},
	} {
		r := newRecorder()
		tc.feed(r)
		if v, ok := r.firstViolation(); !ok || !strings.Contains(v, tc.want) {
			t.Errorf("%s: violation %q, want one containing %q", tc.name, v, tc.want)
		}
	}
}
