package replica_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/geomds/geomds/server/replica"
	"go.etcd.io/raft/v3/raftpb"
)

func (c *cluster) follower(ld *node) *node {
	for _, nd := range c.nodes() {
		if nd.id != ld.id && nd.r.Status().Role == "follower" {
			return nd
		}
	}
	c.t.Fatal("no follower")
	return nil
}

func TestLeaderTransfer(t *testing.T) {
	c := newCluster(t, nil)
	c.bootstrap(3)
	ld := c.leader()
	to := c.follower(ld)
	var err error
	done := async(func() { err = to.r.TransferLeader(context.Background(), to.id) })
	c.tickUntil("transfer", done)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.leader(); got.id != to.id {
		t.Fatalf("leader %d after transfer to %d", got.id, to.id)
	}
	got := c.proposeAll(to, "after-transfer")
	if got[0].err != nil {
		t.Fatal(got[0].err)
	}
}

// TestProposalDuringTransferIsParked: while the leader hands leadership
// over, raft drops proposals; the replica parks them and, once the new
// leader is known, forwards them to it. The caller sees success, and the
// entry applies once everywhere.
func TestProposalDuringTransferIsParked(t *testing.T) {
	c := newCluster(t, nil)
	c.bootstrap(3)
	ld := c.leader()
	to := c.follower(ld)
	c.net.setHold(func(m *raftpb.Message) bool { return m.GetType() == raftpb.MsgTimeoutNow })
	var terr error
	transferred := async(func() { terr = ld.r.TransferLeader(context.Background(), to.id) })
	c.waitFor("transfer pending", func() bool { return ld.r.Status().LeadTransferee == to.id })
	var perr error
	proposed := async(func() { _, _, perr = ld.r.Propose(context.Background(), []byte("mid-transfer")) })
	c.settle()
	if proposed() {
		t.Fatalf("Propose during the transfer returned %v at once: want it parked", perr)
	}
	c.net.release()
	c.tickUntil("transfer and proposal", func() bool { return transferred() && proposed() })
	if terr != nil || perr != nil {
		t.Fatalf("transfer: %v; proposal: %v", terr, perr)
	}
	if got := c.leader(); got.id != to.id {
		t.Fatalf("leader %d, want %d", got.id, to.id)
	}
	c.converged()
	for _, nd := range c.nodes() {
		if got := nd.sm.Payloads(); !slices.Equal(got, []string{"mid-transfer"}) {
			t.Fatalf("node %d applied %q, want the parked proposal once", nd.id, got)
		}
	}
}

func change(typ raftpb.ConfChangeType, id uint64) *raftpb.ConfChangeV2 {
	return &raftpb.ConfChangeV2{Changes: []*raftpb.ConfChangeSingle{{Type: typ.Enum(), NodeId: &id}}}
}

func (c *cluster) changeMembership(at *node, cc *raftpb.ConfChangeV2) *raftpb.ConfState {
	c.t.Helper()
	var cs *raftpb.ConfState
	var err error
	done := async(func() { cs, err = at.r.ChangeMembership(context.Background(), cc) })
	c.tickUntil("conf change", done)
	if err != nil {
		c.t.Fatalf("ChangeMembership: %v", err)
	}
	return cs
}

func TestMembershipLearnerPromoteRemove(t *testing.T) {
	c := newCluster(t, func(cfg *replica.Config) { cfg.SnapshotEntries, cfg.CompactKeep = 10, 2 })
	c.bootstrap(3)
	ld := c.leader()
	c.proposeAll(ld, payloads("pre", 25)...)

	c.start(4, nil, nil, nil) // joins empty
	cs := c.changeMembership(ld, change(raftpb.ConfChangeAddLearnerNode, 4))
	if !slices.Equal(cs.GetLearners(), []uint64{4}) {
		t.Fatalf("after add learner: %v", cs)
	}
	learner := c.node(4)
	c.tickUntil("learner catches up", func() bool {
		return learner.r.Applied() >= ld.r.Applied() && learner.r.Status().Role == "learner"
	})
	c.proposeAll(learner, "via-learner") // learners forward proposals too
	c.converged()

	cs = c.changeMembership(ld, change(raftpb.ConfChangeAddNode, 4))
	if !slices.Equal(cs.GetVoters(), []uint64{1, 2, 3, 4}) || len(cs.GetLearners()) != 0 {
		t.Fatalf("after promote: %v", cs)
	}
	removed := uint64(1)
	for removed == ld.id {
		removed++
	}
	cs = c.changeMembership(ld, change(raftpb.ConfChangeRemoveNode, removed))
	if slices.Contains(cs.GetVoters(), removed) || len(cs.GetVoters()) != 3 {
		t.Fatalf("after remove %d: %v", removed, cs)
	}
	c.stop(removed)
	c.proposeAll(c.leader(), "after-remove")
	c.converged()
	if st := c.node(4).r.Status(); st.Role != "follower" && st.Role != "leader" {
		t.Fatalf("promoted node role %q", st.Role)
	}
}

func TestChangeMembershipOneAtATime(t *testing.T) {
	c := newCluster(t, nil)
	c.bootstrap(3)
	ld := c.leader()
	c.net.setHold(func(*raftpb.Message) bool { return true }) // nothing commits
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := async(func() { _, _ = ld.r.ChangeMembership(ctx, change(raftpb.ConfChangeAddLearnerNode, 4)) })
	c.waitFor("first change pending", func() bool { return replica.ConfChangePending(ld.r) })
	if _, err := ld.r.ChangeMembership(ctx, change(raftpb.ConfChangeAddLearnerNode, 5)); !errors.Is(err, replica.ErrConfChangePending) {
		t.Fatalf("second change while the first is pending: %v, want ErrConfChangePending", err)
	}
	cancel()
	c.tickUntil("first change returns", first)
}

func TestReadIndexOnFollower(t *testing.T) {
	c := newCluster(t, nil)
	c.bootstrap(3)
	ld := c.leader()
	f := c.follower(ld)
	w := c.proposeAll(ld, "w")[0]
	if w.err != nil {
		t.Fatal(w.err)
	}
	var idx uint64
	var err error
	done := async(func() { idx, err = f.r.ReadIndex(context.Background()) })
	c.tickUntil("read", done)
	if err != nil {
		t.Fatal(err)
	}
	if idx < w.index {
		t.Fatalf("read index %d < last write %d", idx, w.index)
	}
	if f.r.Applied() < idx {
		t.Fatalf("ReadIndex returned before applying %d (applied %d)", idx, f.r.Applied())
	}
}

func TestConcurrentReadsShareRounds(t *testing.T) {
	c := newCluster(t, nil)
	c.bootstrap(3)
	ld := c.leader()
	f := c.follower(ld)
	c.proposeAll(ld, "w")
	before := c.net.count(raftpb.MsgReadIndex)
	c.net.setHold(func(m *raftpb.Message) bool { return m.GetType() == raftpb.MsgReadIndex })
	const readers = 20
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := f.r.ReadIndex(ctx)
			errs <- err
		}()
	}
	c.waitFor("readers queued", func() bool { return replica.ReadWaiters(f.r) == readers })
	c.net.release()
	c.tickUntil("reads done", async(wg.Wait))
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The first reader's round was in flight while the rest queued: two
	// rounds (one more if a round was reissued), never one per reader.
	if rounds := c.net.count(raftpb.MsgReadIndex) - before; rounds > 3 {
		t.Fatalf("%d readers took %d read rounds", readers, rounds)
	}
}

func TestFailStopOnSaveError(t *testing.T) {
	c := newCluster(t, nil)
	c.bootstrap(1)
	nd := c.leader()
	c.proposeAll(nd, "ok")
	injected := errors.New("disk on fire")
	nd.log.SetSaveErr(injected)
	got := c.proposeAll(nd, "lost")[0]
	if !errors.Is(got.err, replica.ErrStopped) {
		t.Fatalf("proposal during failure: %v, want ErrStopped", got.err)
	}
	if err := <-nd.done; !errors.Is(err, injected) {
		t.Fatalf("Run returned %v, want the save error", err)
	}
	if !errors.Is(nd.r.Err(), injected) {
		t.Fatalf("Err() = %v", nd.r.Err())
	}
	if _, _, err := nd.r.Propose(context.Background(), []byte("late")); !errors.Is(err, replica.ErrStopped) {
		t.Fatalf("Propose after stop: %v", err)
	}
	if _, err := nd.r.ReadIndex(context.Background()); !errors.Is(err, replica.ErrStopped) {
		t.Fatalf("ReadIndex after stop: %v", err)
	}
	if p := nd.sm.Payloads(); !slices.Equal(p, []string{"ok"}) {
		t.Fatalf("applied %v after failure", p)
	}
	if st := nd.r.Status(); st.Role != "stopped" {
		t.Fatalf("role %q", st.Role)
	}
}

func TestFailStopOnApplyError(t *testing.T) {
	c := newCluster(t, nil)
	c.bootstrap(3)
	ld := c.leader()
	f := c.follower(ld)
	injected := errors.New("state corrupt")
	f.sm.SetApplyErr(injected)
	c.proposeAll(ld, "x")
	c.tickUntil("follower stops", func() bool { return errors.Is(f.r.Err(), injected) })
	if len(f.sm.Payloads()) != 0 {
		t.Fatal("follower applied after its failure")
	}
}

func TestLastLeaderContact(t *testing.T) {
	c := newCluster(t, nil)
	c.bootstrap(3)
	ld := c.leader()
	f := c.follower(ld)
	start := time.Now()
	c.tickUntil("heartbeat reaches follower", func() bool { return !f.r.LastLeaderContact().Before(start) })
	if ld.r.LastLeaderContact().Before(start) {
		t.Fatal("leader's own contact is not now")
	}
}
