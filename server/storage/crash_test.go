package storage

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// crash reopens the engine on what a crash at this moment would leave of fs:
// the synced data, plus (with unsyncedPct > 0) a random part of the rest.
func crash(t *testing.T, e *Engine, fs *vfs.MemFS, unsyncedPct int, rng *rand.Rand) (*Engine, *vfs.MemFS) {
	t.Helper()
	cfg := vfs.CrashCloneCfg{UnsyncedDataPercent: unsyncedPct}
	if unsyncedPct > 0 {
		cfg.RNG = rng
	}
	clone := fs.CrashClone(cfg)
	must(t, e.Close())
	return openEngine(t, clone), clone
}

func commitState(t *testing.T, e *Engine, index uint64, sync bool) {
	t.Helper()
	b := e.NewBatch(1)
	defer b.Close()
	must(t, b.Put(fmt.Appendf(nil, "k%03d", index), []byte("v")))
	must(t, b.PutSys([]byte("last"), fmt.Appendf(nil, "%d", index)))
	must(t, b.SetApplied(index, 1))
	must(t, b.Commit(sync))
}

// TestAppliedIndexAtomicWithState: after a crash, the applied index names
// exactly the state that survived: unsynced commits vanish together with
// their applied index, synced ones survive.
func TestAppliedIndexAtomicWithState(t *testing.T) {
	fs := vfs.NewCrashableMem()
	e := openEngine(t, fs)
	commitState(t, e, 1, true)
	commitState(t, e, 2, true)
	commitState(t, e, 3, false)
	commitState(t, e, 4, false)

	e, _ = crash(t, e, fs, 0, nil)
	checkStateMatchesApplied(t, e, 2)
}

// TestCrashNeverSplitsABatch crashes with a random part of the unsynced
// data kept: whatever survives, each batch is all or nothing and the
// applied index agrees with the keys present.
func TestCrashNeverSplitsABatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		fs := vfs.NewCrashableMem()
		e := openEngine(t, fs)
		synced := uint64(0)
		for i := uint64(1); i <= 30; i++ {
			sync := rng.IntN(5) == 0
			commitState(t, e, i, sync)
			if sync {
				synced = i
			}
		}
		e, _ = crash(t, e, fs, rng.IntN(101), rng)
		applied, _, err := e.Applied(1)
		must(t, err)
		if applied < synced {
			t.Fatalf("round %d: applied %d < last synced %d", round, applied, synced)
		}
		checkStateMatchesApplied(t, e, applied)
		must(t, e.Close())
	}
}

func checkStateMatchesApplied(t *testing.T, e *Engine, want uint64) {
	t.Helper()
	v, err := e.View(1)
	must(t, err)
	defer v.Close()
	if v.Applied() != want {
		t.Fatalf("applied %d, want %d", v.Applied(), want)
	}
	keys := scanAll(t, v.Scan, nil, nil)
	if uint64(len(keys)) != want {
		t.Fatalf("applied %d but %d keys survive: %s", want, len(keys), fmtKV(keys))
	}
	if want > 0 {
		if last, _ := getString(t, v.GetSys, "last"); last != fmt.Sprint(want) {
			t.Fatalf("sys key says %s, applied %d", last, want)
		}
	}
}

func TestRaftLogSurvivesCrashWhenSynced(t *testing.T) {
	fs := vfs.NewCrashableMem()
	e := openEngine(t, fs)
	l, err := e.RaftLog(1)
	must(t, err)
	hs := &raftpb.HardState{Term: proto.Uint64(2), Vote: proto.Uint64(1), Commit: proto.Uint64(3)}
	must(t, l.Save(hs, ents(1, 5, 2), true))
	must(t, l.Save(&raftpb.HardState{Term: proto.Uint64(3), Commit: proto.Uint64(5)}, ents(6, 9, 3), false))

	e, _ = crash(t, e, fs, 0, nil)
	l, err = e.RaftLog(1)
	must(t, err)
	gotHS, _, err := l.InitialState()
	must(t, err)
	if !proto.Equal(gotHS, hs) {
		t.Fatalf("hard state %v, want %v", gotHS, hs)
	}
	if last, _ := l.LastIndex(); last != 5 {
		t.Fatalf("last index %d after losing the unsynced append, want 5", last)
	}
	got, err := l.Entries(1, 6, noLimit)
	must(t, err)
	if len(got) != 5 || got[4].GetTerm() != 2 {
		t.Fatalf("entries after crash: %v", got)
	}
}
