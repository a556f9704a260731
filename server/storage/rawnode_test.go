package storage

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// TestRaftLogDrivesRawNode runs a real single-voter raft.RawNode on a
// RaftLog through the Ready loop, snapshots and compacts, restarts from the
// engine, and checks that the log resumes where it stopped.
func TestRaftLogDrivesRawNode(t *testing.T) {
	fs := vfs.NewMem()
	e := openEngine(t, fs)
	n := newTestNode(t, e, 0)
	must(t, n.rn.Bootstrap([]raft.Peer{{ID: 1}}))
	n.drain() // apply the bootstrap conf change: raft does not campaign before
	must(t, n.rn.Campaign())
	n.drain()
	n.propose(300)
	if n.applied != n.last() {
		t.Fatalf("applied %d, last index %d", n.applied, n.last())
	}
	must(t, n.l.CreateSnapshot(n.applied, n.cs))
	must(t, n.l.Compact(n.applied-50))
	applied := n.applied

	must(t, e.Close())
	e = openEngine(t, fs)
	n = newTestNode(t, e, applied)
	if first, _ := n.l.FirstIndex(); first != applied-49 {
		t.Fatalf("first index %d after restart, want %d", first, applied-49)
	}
	must(t, n.rn.Campaign())
	n.drain()
	n.propose(100)
	if n.data != 100 || n.applied != n.last() {
		t.Fatalf("after restart: applied %d data entries (want 100), applied %d of %d", n.data, n.applied, n.last())
	}
	if st := n.rn.Status(); st.RaftState != raft.StateLeader {
		t.Fatalf("not leader after restart: %v", st.RaftState)
	}
}

type testNode struct {
	t       *testing.T
	l       *RaftLog
	rn      *raft.RawNode
	cs      *raftpb.ConfState
	applied uint64
	data    int // data entries applied since start
}

func newTestNode(t *testing.T, e *Engine, applied uint64) *testNode {
	l := openLog(t, e)
	rn, err := raft.NewRawNode(&raft.Config{ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: l,
		Applied: applied, MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 256, Logger: raftSilent{}})
	must(t, err)
	_, cs, err := l.InitialState()
	must(t, err)
	return &testNode{t: t, l: l, rn: rn, cs: cs, applied: applied}
}

func (n *testNode) last() uint64 {
	last, _ := n.l.LastIndex()
	return last
}

func (n *testNode) propose(count int) {
	for i := range count {
		must(n.t, n.rn.Propose(fmt.Appendf(nil, "cmd-%d", i)))
		if i%10 == 0 {
			n.drain()
		}
	}
	n.drain()
}

// drain runs the Ready loop until raft has nothing left to do.
func (n *testNode) drain() {
	for n.rn.HasReady() {
		rd := n.rn.Ready()
		if !raft.IsEmptySnap(rd.Snapshot) {
			must(n.t, n.l.ApplySnapshot(rd.Snapshot))
		}
		must(n.t, n.l.Save(rd.HardState, rd.Entries, rd.MustSync))
		for _, ent := range rd.CommittedEntries {
			if ent.GetIndex() != n.applied+1 {
				n.t.Fatalf("applying %d after %d", ent.GetIndex(), n.applied)
			}
			n.applied = ent.GetIndex()
			switch ent.GetType() {
			case raftpb.EntryConfChange:
				var cc raftpb.ConfChange
				must(n.t, proto.Unmarshal(ent.GetData(), &cc))
				n.cs = n.rn.ApplyConfChange(&cc)
			case raftpb.EntryNormal:
				if len(ent.GetData()) > 0 {
					n.data++
				}
			}
		}
		n.rn.Advance(rd)
	}
}

// raftSilent drops raft's logging (it would flood the test output).
type raftSilent struct{}

func (raftSilent) Debug(...any)              {}
func (raftSilent) Debugf(string, ...any)     {}
func (raftSilent) Error(...any)              {}
func (raftSilent) Errorf(string, ...any)     {}
func (raftSilent) Info(...any)               {}
func (raftSilent) Infof(string, ...any)      {}
func (raftSilent) Warning(...any)            {}
func (raftSilent) Warningf(string, ...any)   {}
func (raftSilent) Fatal(v ...any)            { panic(fmt.Sprint(v...)) }
func (raftSilent) Fatalf(f string, v ...any) { panic(fmt.Sprintf(f, v...)) }
func (raftSilent) Panic(v ...any)            { panic(fmt.Sprint(v...)) }
func (raftSilent) Panicf(f string, v ...any) { panic(fmt.Sprintf(f, v...)) }
