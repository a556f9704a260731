package replica_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/geomds/geomds/server/replica"
	"go.etcd.io/raft/v3/raftpb"
)

// proposeAll proposes payloads concurrently at nd, ticking until all return.
func (c *cluster) proposeAll(nd *node, payloads ...string) []proposed {
	c.t.Helper()
	out := make([]proposed, len(payloads))
	var wg sync.WaitGroup
	for i, p := range payloads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
			defer cancel()
			res, idx, err := nd.r.Propose(ctx, []byte(p))
			out[i] = proposed{res, idx, err}
		}()
	}
	done := async(wg.Wait)
	c.tickUntil("proposals applied", done)
	return out
}

type proposed struct {
	res   any
	index uint64
	err   error
}

func payloads(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// converged waits until every running node applied the same payloads.
func (c *cluster) converged() []string {
	c.t.Helper()
	var want []string
	c.tickUntil("replicas converge", func() bool {
		nds := c.nodes()
		want = nds[0].sm.Payloads()
		for _, nd := range nds[1:] {
			if !slices.Equal(nd.sm.Payloads(), want) {
				return false
			}
		}
		return true
	})
	return want
}

func TestElection(t *testing.T) {
	c := newCluster(t, nil)
	c.bootstrap(3)
	ld := c.leader()
	leaders := 0
	for _, nd := range c.nodes() {
		st := nd.r.Status()
		if st.Role == "leader" {
			leaders++
		}
		if !slices.Equal(st.Voters, []uint64{1, 2, 3}) {
			t.Errorf("node %d voters = %v", nd.id, st.Voters)
		}
		if st.Term != ld.r.Status().Term {
			t.Errorf("node %d term %d, leader's %d", nd.id, st.Term, ld.r.Status().Term)
		}
	}
	if leaders != 1 {
		t.Fatalf("%d leaders", leaders)
	}
	if st := ld.r.Status(); len(st.Progress) != 3 {
		t.Errorf("leader progress = %v", st.Progress)
	}
}

// TestProposeWithoutLeaderFailsFast: a node that has never known a leader
// is not in an election but starting (or cut off): it fails proposals at
// once so callers try elsewhere.
func TestProposeWithoutLeaderFailsFast(t *testing.T) {
	c := newCluster(t, nil)
	c.bootstrap(3)
	_, _, err := c.node(1).r.Propose(context.Background(), []byte("x"))
	if !errors.Is(err, replica.ErrNoLeader) {
		t.Fatalf("Propose before any election = %v, want ErrNoLeader", err)
	}
}

// TestProposeDuringElectionIsParked: a proposal made while the group elects
// a new leader after losing one waits instead of failing at once: it
// commits once a leader is elected, or — when the election outlasts
// parkElections (3) election timeouts, which this harness's elections
// sometimes do — fails with ErrNoLeader, but not before.
func TestProposeDuringElectionIsParked(t *testing.T) {
	c := newCluster(t, nil)
	c.bootstrap(3)
	old := c.leader()
	f := c.follower(old)
	c.stop(old.id)
	// No election completes until the follower has lost the old leader.
	c.net.setHold(func(m *raftpb.Message) bool {
		return m.GetType() == raftpb.MsgPreVote || m.GetType() == raftpb.MsgVote
	})
	c.tickUntil("the follower loses the leader", func() bool { return f.r.Status().Leader == 0 })
	var err error
	done := async(func() { _, _, err = f.r.Propose(context.Background(), []byte("mid-election")) })
	c.settle()
	if done() {
		t.Fatalf("Propose without a leader returned %v at once: want it parked", err)
	}
	c.net.release()
	ticks := 0
	c.tickUntil("the parked proposal returns", func() bool {
		ticks++
		return done()
	})
	switch {
	case err == nil:
		c.converged()
		if got := f.sm.Payloads(); !slices.Equal(got, []string{"mid-election"}) {
			t.Fatalf("applied %q, want the parked proposal once", got)
		}
	case errors.Is(err, replica.ErrNoLeader) && ticks >= 3*10-1:
		t.Logf("no leader within %d ticks; the proposal failed after its bound", ticks)
	default:
		t.Fatalf("Propose during the election = %v after %d ticks, want success, or ErrNoLeader after 30", err, ticks)
	}
}

// TestParkedProposalFailsWhenNoLeaderComes: a node cut off from the others
// parks a proposal after losing its leader, then fails it with ErrNoLeader
// once no leader came for parkElections election timeouts, so callers
// retry elsewhere instead of hanging.
func TestParkedProposalFailsWhenNoLeaderComes(t *testing.T) {
	c := newCluster(t, nil)
	c.bootstrap(3)
	ld := c.leader()
	f := c.follower(ld)
	c.net.partition(f.id, []uint64{1, 2, 3})
	c.tickUntil("the follower loses the leader", func() bool { return f.r.Status().Leader == 0 })
	var err error
	done := async(func() { _, _, err = f.r.Propose(context.Background(), []byte("x")) })
	c.settle()
	if done() {
		t.Fatalf("Propose returned %v before any tick: want it parked", err)
	}
	c.tickUntil("the parked proposal fails", done)
	if !errors.Is(err, replica.ErrNoLeader) {
		t.Fatalf("Propose at an isolated node = %v, want ErrNoLeader", err)
	}
}

func TestReplicationWakesWaitersWithResults(t *testing.T) {
	c := newCluster(t, nil)
	c.bootstrap(3)
	ld := c.leader()
	ps := payloads("p", 50)
	got := c.proposeAll(ld, ps...)
	seen := map[uint64]bool{}
	for i, g := range got {
		if g.err != nil {
			t.Fatalf("proposal %d: %v", i, g.err)
		}
		if g.res != "ok:"+ps[i] {
			t.Errorf("proposal %d result %v", i, g.res)
		}
		if seen[g.index] {
			t.Errorf("index %d returned twice", g.index)
		}
		seen[g.index] = true
	}
	applied := c.converged()
	slices.Sort(applied)
	want := slices.Clone(ps)
	slices.Sort(want)
	if !slices.Equal(applied, want) {
		t.Fatalf("applied %v, want %v", applied, want)
	}
	if saves, _ := ld.log.Saves(); saves >= 50+10 {
		t.Logf("leader saves: %d for 50 proposals (batching is opportunistic)", saves)
	}
}

func TestProposeAtFollower(t *testing.T) {
	c := newCluster(t, nil)
	c.bootstrap(3)
	ld := c.leader()
	var f *node
	for _, nd := range c.nodes() {
		if nd.id != ld.id {
			f = nd
		}
	}
	got := c.proposeAll(f, "from-follower")
	if got[0].err != nil || got[0].res != "ok:from-follower" {
		t.Fatalf("follower proposal = %+v", got[0])
	}
	if err := f.r.WaitApplied(context.Background(), got[0].index); err != nil {
		t.Fatal(err)
	}
	c.converged()
}

func TestSnapshotCatchUp(t *testing.T) {
	c := newCluster(t, func(cfg *replica.Config) { cfg.SnapshotEntries, cfg.CompactKeep = 10, 2 })
	c.bootstrap(3)
	ld := c.leader()
	lag := uint64(1)
	if ld.id == lag {
		lag = 2
	}
	c.net.partition(lag, []uint64{1, 2, 3})
	for i := range 4 {
		for _, g := range c.proposeAll(ld, payloads(fmt.Sprintf("b%d-", i), 10)...) {
			if g.err != nil {
				t.Fatal(g.err)
			}
		}
	}
	first, _ := ld.log.FirstIndex()
	if behind := c.node(lag).r.Applied(); first <= behind+1 {
		t.Fatalf("leader log starts at %d, lagging node applied %d: not compacted past it", first, behind)
	}
	c.net.heal()
	want := ld.sm.Payloads()
	c.tickUntil("lagging node catches up", func() bool {
		return slices.Equal(c.node(lag).sm.Payloads(), want)
	})
	if c.node(lag).sm.Restores() == 0 {
		t.Fatal("lagging node caught up without a snapshot")
	}
	// It keeps replicating normally afterwards.
	c.proposeAll(ld, "after")
	c.converged()
}

func TestRestartNeitherReappliesNorSkips(t *testing.T) {
	c := newCluster(t, func(cfg *replica.Config) { cfg.SnapshotEntries, cfg.CompactKeep = 8, 3 })
	c.bootstrap(3)
	c.proposeAll(c.leader(), payloads("a", 12)...)
	c.converged()

	// One node restarts while the others go on.
	down := uint64(3)
	if c.leader().id == down {
		down = 2
	}
	old := c.stop(down)
	c.proposeAll(c.leader(), payloads("b", 5)...)
	c.start(down, []uint64{1, 2, 3}, old.log, old.sm)
	c.converged()

	// The whole group restarts from its stores.
	var olds []*node
	for id := uint64(1); id <= 3; id++ {
		olds = append(olds, c.stop(id))
	}
	for _, o := range olds {
		c.start(o.id, nil, o.log, o.sm)
	}
	for _, g := range c.proposeAll(c.leader(), "c") {
		if g.err != nil {
			t.Fatal(g.err)
		}
	}
	got := c.converged()
	want := append(append(payloads("a", 12), payloads("b", 5)...), "c")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("applied %v\nwant    %v", got, want)
	}
	// MemSM refuses a re-applied or skipped entry (the replica would have
	// stopped); also check every node's record is the whole log, in order.
	for _, nd := range c.nodes() {
		if err := nd.r.Err(); err != nil {
			t.Fatalf("node %d stopped: %v", nd.id, err)
		}
		for i, rec := range nd.sm.Records() {
			if rec.Index != uint64(i+1) {
				t.Fatalf("node %d record %d has index %d", nd.id, i, rec.Index)
			}
		}
	}
}

func TestWaiterCoveredBySnapshotGetsOutcomeUnknown(t *testing.T) {
	c := newCluster(t, func(cfg *replica.Config) { cfg.SnapshotEntries, cfg.CompactKeep = 10, 2 })
	c.bootstrap(3)
	ld := c.leader()
	lag := c.follower(ld)
	// lag still reaches the leader but hears nothing back: its forwarded
	// proposal commits without it.
	c.net.cutInbound(lag.id, []uint64{1, 2, 3})
	var err error
	done := async(func() { _, _, err = lag.r.Propose(context.Background(), []byte("from-lag")) })
	c.settle()
	c.waitFor("lag's proposal applied at the leader", func() bool {
		c.settle()
		return slices.Contains(ld.sm.Payloads(), "from-lag")
	})
	c.proposeAll(ld, payloads("more", 30)...) // the leader compacts past lag
	c.net.heal()
	c.tickUntil("lag's waiter returns", done)
	if !errors.Is(err, replica.ErrOutcomeUnknown) {
		t.Fatalf("waiter covered by a snapshot got %v, want ErrOutcomeUnknown", err)
	}
	for _, p := range c.converged() {
		if p == "from-lag" {
			return
		}
	}
	t.Fatal("lag's proposal was not applied")
}

// TestDeposedLeaderDatesItsState: a leader cut off from the others steps
// down (CheckQuorum) and then reports its last leader contact as the time
// it stepped down, not as the last leader it heard before its own term
// (here: none at all, which made its STALE reads look infinitely old).
func TestDeposedLeaderDatesItsState(t *testing.T) {
	c := newCluster(t, nil)
	c.bootstrap(3)
	ld := c.leader()
	start := time.Now()
	c.net.partition(ld.id, []uint64{1, 2, 3})
	c.tickUntil("the cut-off leader steps down", func() bool { return ld.r.Status().Role != "leader" })
	if got := ld.r.LastLeaderContact(); got.Before(start) {
		t.Fatalf("deposed leader's last contact %v, want at or after %v (when it stepped down)", got, start)
	}
}
