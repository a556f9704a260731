package storage

import (
	"errors"
	"math"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

const noLimit = math.MaxUint64

// ents makes entries [lo, hi] of one term, each with a small payload.
func ents(lo, hi, term uint64) []*raftpb.Entry {
	var out []*raftpb.Entry
	for i := lo; i <= hi; i++ {
		out = append(out, &raftpb.Entry{Index: proto.Uint64(i), Term: proto.Uint64(term), Data: []byte("payload")})
	}
	return out
}

func openLog(t *testing.T, e *Engine) *RaftLog {
	t.Helper()
	l, err := e.RaftLog(1)
	must(t, err)
	return l
}

func checkBounds(t *testing.T, l *RaftLog, first, last uint64) {
	t.Helper()
	f, _ := l.FirstIndex()
	la, _ := l.LastIndex()
	if f != first || la != last {
		t.Fatalf("bounds [%d,%d], want [%d,%d]", f, la, first, last)
	}
}

func checkTerm(t *testing.T, l *RaftLog, i, want uint64, wantErr error) {
	t.Helper()
	got, err := l.Term(i)
	if !errors.Is(err, wantErr) || (err == nil && got != want) {
		t.Fatalf("Term(%d) = %d, %v; want %d, %v", i, got, err, want, wantErr)
	}
}

func TestSaveTruncatesConflictingTail(t *testing.T) {
	fs := vfs.NewMem()
	e := openEngine(t, fs)
	l := openLog(t, e)
	must(t, l.Save(nil, ents(1, 10, 1), true))
	must(t, l.Save(nil, ents(6, 8, 2), true)) // a new leader overwrote 6.. and the old 9, 10 are gone
	for _, reopen := range []bool{false, true} {
		if reopen {
			must(t, e.Close())
			e = openEngine(t, fs)
			l = openLog(t, e)
		}
		checkBounds(t, l, 1, 8)
		checkTerm(t, l, 5, 1, nil)
		checkTerm(t, l, 6, 2, nil)
		checkTerm(t, l, 9, 0, raft.ErrUnavailable)
		got, err := l.Entries(5, 9, noLimit)
		must(t, err)
		if len(got) != 4 || got[0].GetTerm() != 1 || got[3].GetTerm() != 2 || got[3].GetIndex() != 8 {
			t.Fatalf("entries after truncation: %v", got)
		}
		if _, err := l.Entries(5, 10, noLimit); err == nil {
			t.Fatal("Entries beyond last index succeeded")
		}
	}
	// A gap is refused.
	if err := l.Save(nil, ents(10, 11, 2), true); err == nil {
		t.Fatal("append leaving a gap accepted")
	}
	// Appending at last+1 deletes nothing.
	must(t, l.Save(nil, ents(9, 9, 2), false))
	checkBounds(t, l, 1, 9)
}

func TestCompactAndSnapshotEdges(t *testing.T) {
	fs := vfs.NewMem()
	e := openEngine(t, fs)
	l := openLog(t, e)
	checkBounds(t, l, 1, 0)
	checkTerm(t, l, 0, 0, nil)
	checkTerm(t, l, 1, 0, raft.ErrUnavailable)
	if _, err := l.Entries(1, 1, noLimit); !errors.Is(err, raft.ErrUnavailable) {
		t.Fatalf("Entries on an empty log: %v", err)
	}
	if err := l.Compact(0); !errors.Is(err, raft.ErrCompacted) {
		t.Fatalf("Compact(0): %v", err)
	}

	must(t, l.Save(nil, ents(1, 3, 1), true))
	must(t, l.Save(nil, ents(4, 10, 2), true))
	must(t, l.CreateSnapshot(5, &raftpb.ConfState{Voters: []uint64{1, 2, 3}}))
	if err := l.CreateSnapshot(5, nil); !errors.Is(err, raft.ErrSnapOutOfDate) {
		t.Fatalf("CreateSnapshot at the same index: %v", err)
	}
	if err := l.CreateSnapshot(11, nil); err == nil {
		t.Fatal("CreateSnapshot beyond last index succeeded")
	}
	must(t, l.Compact(5))
	checkBounds(t, l, 6, 10)
	checkTerm(t, l, 4, 0, raft.ErrCompacted)
	checkTerm(t, l, 5, 2, nil) // the dummy keeps its term
	if _, err := l.Entries(5, 7, noLimit); !errors.Is(err, raft.ErrCompacted) {
		t.Fatalf("Entries at the dummy: %v", err)
	}
	if err := l.Compact(5); !errors.Is(err, raft.ErrCompacted) {
		t.Fatalf("Compact again: %v", err)
	}
	if err := l.Compact(11); err == nil {
		t.Fatal("Compact beyond last index succeeded")
	}
	snap, err := l.Snapshot()
	must(t, err)
	if snap.GetMetadata().GetIndex() != 5 || snap.GetMetadata().GetTerm() != 2 || len(snap.GetData()) != 0 {
		t.Fatalf("snapshot %v", snap)
	}
	_, cs, err := l.InitialState()
	must(t, err)
	if len(cs.GetVoters()) != 3 {
		t.Fatalf("conf state %v", cs)
	}

	// Compacting everything leaves only the dummy.
	must(t, l.Compact(10))
	checkBounds(t, l, 11, 10)
	checkTerm(t, l, 10, 2, nil)
	if _, err := l.Entries(11, 11, noLimit); !errors.Is(err, raft.ErrUnavailable) {
		t.Fatalf("Entries on a fully compacted log: %v", err)
	}
	must(t, l.Save(nil, ents(11, 12, 3), true))
	checkBounds(t, l, 11, 12)

	// An older snapshot is refused; a newer one replaces the whole log.
	old := &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{Index: proto.Uint64(4), Term: proto.Uint64(1)}}
	if err := l.ApplySnapshot(old); !errors.Is(err, raft.ErrSnapOutOfDate) {
		t.Fatalf("old snapshot: %v", err)
	}
	must(t, l.Save(&raftpb.HardState{Term: proto.Uint64(3), Commit: proto.Uint64(12)}, nil, true))
	newer := &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{Index: proto.Uint64(20), Term: proto.Uint64(4),
		ConfState: &raftpb.ConfState{Voters: []uint64{1, 2}}}}
	must(t, l.ApplySnapshot(newer))
	for _, reopen := range []bool{false, true} {
		if reopen {
			must(t, e.Close())
			e = openEngine(t, fs)
			l = openLog(t, e)
		}
		checkBounds(t, l, 21, 20)
		checkTerm(t, l, 20, 4, nil)
		checkTerm(t, l, 12, 0, raft.ErrCompacted)
		hs, cs, err := l.InitialState()
		must(t, err)
		if hs.GetCommit() != 20 || hs.GetTerm() != 3 || len(cs.GetVoters()) != 2 {
			t.Fatalf("after snapshot: hs %v cs %v", hs, cs)
		}
	}
	must(t, l.Save(nil, ents(21, 22, 4), true))
	checkBounds(t, l, 21, 22)
}

func TestEntriesSizeLimit(t *testing.T) {
	e := openEngine(t, nil)
	l := openLog(t, e)
	must(t, l.Save(nil, ents(1, 20, 1), true))
	size := uint64(proto.Size(ents(1, 1, 1)[0]))
	for _, small := range []bool{false, true} {
		if small {
			l.cache.maxCount = 4 // most entries now come from Pebble
			l.cache.evict()
		}
		for _, c := range []struct{ max, want uint64 }{{0, 1}, {size - 1, 1}, {size, 1}, {3*size + 1, 3}, {noLimit, 19}} {
			got, err := l.Entries(2, 21, c.max)
			must(t, err)
			if uint64(len(got)) != c.want || got[0].GetIndex() != 2 {
				t.Fatalf("cache %v max %d: %d entries, want %d", !small, c.max, len(got), c.want)
			}
		}
	}
}
