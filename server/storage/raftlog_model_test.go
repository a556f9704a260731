package storage

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// TestRaftLogMatchesMemoryStorage runs random sequences of appends (with
// conflicting tails), hard states, snapshots, compactions and restarts on a
// RaftLog and on raft.MemoryStorage, and checks that every query answers
// the same. With a tiny entry cache most reads go to Pebble.
func TestRaftLogMatchesMemoryStorage(t *testing.T) {
	for seed := range uint64(12) {
		for _, cacheCount := range []int{cacheMaxEntries, 3} {
			t.Run(fmt.Sprintf("seed%d/cache%d", seed, cacheCount), func(t *testing.T) {
				m := newLogModel(t, seed, cacheCount)
				for step := range 300 {
					m.step()
					m.compare(step)
				}
			})
		}
	}
}

type logModel struct {
	t          *testing.T
	rng        *rand.Rand
	fs         *vfs.MemFS
	e          *Engine
	l          *RaftLog
	ms         *raft.MemoryStorage
	term       uint64 // highest term used so far
	cacheCount int
	trace      []string
}

func newLogModel(t *testing.T, seed uint64, cacheCount int) *logModel {
	m := &logModel{t: t, rng: rand.New(rand.NewPCG(seed, 7)), fs: vfs.NewMem(), ms: raft.NewMemoryStorage(), term: 1, cacheCount: cacheCount}
	m.open()
	return m
}

func (m *logModel) open() {
	m.e = openEngine(m.t, m.fs)
	m.l = openLog(m.t, m.e)
	m.l.cache.maxCount = m.cacheCount
}

func (m *logModel) bounds() (first, last, snap uint64) {
	first, _ = m.ms.FirstIndex()
	last, _ = m.ms.LastIndex()
	s, _ := m.ms.Snapshot()
	return first, last, s.GetMetadata().GetIndex()
}

func (m *logModel) step() {
	first, last, snap := m.bounds()
	switch r := m.rng.IntN(100); {
	case r < 55:
		m.append(first, last, snap)
	case r < 65:
		i := first - 1 + m.rng.Uint64N(last-first+3) // may be compacted already
		if i > last {
			return
		}
		m.trace = append(m.trace, fmt.Sprintf("compact %d", i))
		m.sameErr("Compact", m.ms.Compact(i), m.l.Compact(i))
	case r < 75:
		i := snap + m.rng.Uint64N(last-snap+1)
		if i > snap && i < first-1 {
			return // MemoryStorage cannot create a snapshot inside the compacted prefix
		}
		cs := &raftpb.ConfState{Voters: []uint64{m.rng.Uint64N(5) + 1}}
		m.trace = append(m.trace, fmt.Sprintf("create snapshot %d", i))
		_, err := m.ms.CreateSnapshot(i, cs, nil)
		m.sameErr("CreateSnapshot", err, m.l.CreateSnapshot(i, cs))
	case r < 80:
		m.applySnapshot(snap, last)
	case r < 85:
		m.trace = append(m.trace, "restart")
		must(m.t, m.e.Close())
		m.open()
	default:
		m.append(last+1, last, snap) // plain append at the end
	}
}

// append writes entries from an index in [first-2, last+1] (so a prefix may
// already be compacted, and a tail may conflict), but never at or below the
// snapshot index, which raft never truncates.
func (m *logModel) append(first, last, snap uint64) {
	lo := max(first, 3) - 2 + m.rng.Uint64N(last-max(first, 3)+4)
	lo = min(max(lo, snap+1), last+1)
	if m.rng.IntN(4) == 0 {
		m.term++
	}
	n := m.rng.Uint64N(8)
	var es []*raftpb.Entry
	for i := range n {
		data := make([]byte, m.rng.IntN(40))
		es = append(es, &raftpb.Entry{Index: proto.Uint64(lo + i), Term: proto.Uint64(m.term), Data: data})
	}
	hs := &raftpb.HardState{Term: proto.Uint64(m.term), Vote: proto.Uint64(1), Commit: proto.Uint64(lo)}
	m.trace = append(m.trace, fmt.Sprintf("append [%d,+%d) term %d", lo, n, m.term))
	must(m.t, m.ms.Append(es))
	must(m.t, m.ms.SetHardState(hs))
	must(m.t, m.l.Save(hs, es, m.rng.IntN(2) == 0))
}

func (m *logModel) applySnapshot(snap, last uint64) {
	index := max(snap, 1) - 1 + m.rng.Uint64N(last-max(snap, 1)+12)
	m.term++
	s := &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{Index: proto.Uint64(index), Term: proto.Uint64(m.term),
		ConfState: &raftpb.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{9}}}}
	m.trace = append(m.trace, fmt.Sprintf("apply snapshot %d term %d", index, m.term))
	err := m.ms.ApplySnapshot(s)
	m.sameErr("ApplySnapshot", err, m.l.ApplySnapshot(s))
	if err == nil { // the RaftLog also raises the stored commit to the snapshot
		hs, _, _ := m.ms.InitialState()
		hs = normHS(hs)
		hs.Commit = proto.Uint64(max(hs.GetCommit(), index))
		must(m.t, m.ms.SetHardState(hs))
	}
}

func (m *logModel) fail(format string, args ...any) {
	m.t.Helper()
	m.t.Fatalf("%s\ntrace:\n%v", fmt.Sprintf(format, args...), m.trace)
}

func (m *logModel) sameErr(what string, want, got error) {
	m.t.Helper()
	if !errors.Is(got, want) || (want == nil) != (got == nil) {
		m.fail("%s: error %v, MemoryStorage %v", what, got, want)
	}
}

func (m *logModel) compare(step int) {
	m.t.Helper()
	first, last, _ := m.bounds()
	gf, _ := m.l.FirstIndex()
	gl, _ := m.l.LastIndex()
	if gf != first || gl != last {
		m.fail("step %d: bounds [%d,%d], MemoryStorage [%d,%d]", step, gf, gl, first, last)
	}
	for i := max(first, 3) - 3; i <= last+2; i++ {
		wt, werr := m.ms.Term(i)
		gt, gerr := m.l.Term(i)
		m.sameErr(fmt.Sprintf("step %d Term(%d)", step, i), werr, gerr)
		if gt != wt {
			m.fail("step %d: Term(%d) = %d, MemoryStorage %d", step, i, gt, wt)
		}
	}
	for range 6 {
		m.compareEntries(step, first, last)
	}
	m.compareMeta(step)
}

func (m *logModel) compareEntries(step int, first, last uint64) {
	m.t.Helper()
	lo := max(first, 2) - 1 + m.rng.Uint64N(last-max(first, 2)+3) // [first-1, last+1]
	if lo > last+1 {
		lo = last + 1
	}
	hi := lo + m.rng.Uint64N(last+2-lo)
	maxSize := []uint64{0, 30, 100, 300, noLimit}[m.rng.IntN(5)]
	want, werr := m.ms.Entries(lo, hi, maxSize)
	got, gerr := m.l.Entries(lo, hi, maxSize)
	m.sameErr(fmt.Sprintf("step %d Entries(%d,%d,%d)", step, lo, hi, maxSize), werr, gerr)
	if len(got) != len(want) {
		m.fail("step %d: Entries(%d,%d,%d) returned %d, MemoryStorage %d", step, lo, hi, maxSize, len(got), len(want))
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			m.fail("step %d: entry %d = %v, MemoryStorage %v", step, lo+uint64(i), got[i], want[i])
		}
	}
}

func (m *logModel) compareMeta(step int) {
	m.t.Helper()
	whs, wcs, _ := m.ms.InitialState()
	ghs, gcs, err := m.l.InitialState()
	must(m.t, err)
	if !proto.Equal(normHS(ghs), normHS(whs)) || !proto.Equal(gcs, raftpb.EnsureConfState(wcs)) {
		m.fail("step %d: InitialState %v %v, MemoryStorage %v %v", step, ghs, gcs, whs, wcs)
	}
	ws, _ := m.ms.Snapshot()
	gs, _ := m.l.Snapshot()
	if !proto.Equal(gs.GetMetadata(), ws.GetMetadata()) {
		m.fail("step %d: snapshot %v, MemoryStorage %v", step, gs.GetMetadata(), ws.GetMetadata())
	}
}

// normHS makes every field of a hard state present, so that nil and zero
// compare equal, as raft.IsEmptyHardState treats them.
func normHS(hs *raftpb.HardState) *raftpb.HardState {
	return &raftpb.HardState{Term: proto.Uint64(hs.GetTerm()), Vote: proto.Uint64(hs.GetVote()), Commit: proto.Uint64(hs.GetCommit())}
}
