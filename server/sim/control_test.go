package sim

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/geomds/geomds/server/replica"
)

// faultState tracks the one membership change that may be in flight.
type faultState struct {
	ctl *ctlOp
}

// ctlOp is a ChangeMembership call in its own goroutine.
type ctlOp struct {
	what     string
	via      *node  // the node it was called on
	remove   nodeID // a removal: stop this node once it succeeds
	cancel   context.CancelFunc
	deadline int64

	mu   sync.Mutex // guards done and err, written by the call's goroutine
	done bool
	err  error
}

func (c *ctlOp) finish(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done, c.err = true, err
}

func (c *ctlOp) result() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done, c.err
}

// leader finds the node that is leader in the highest term, if any.
func (w *world) leader() (*node, replica.Status) {
	var best *node
	var bestSt replica.Status
	for _, n := range w.upNodes() {
		if n.pauseTill > w.now {
			continue // a paused process answers nothing
		}
		st := n.rep.Status()
		w.settle()
		if st.Role == "leader" && (best == nil || st.Term > bestSt.Term) {
			best, bestSt = n, st
		}
	}
	return best, bestSt
}

func (w *world) transferLeader() {
	if w.faults.ctl != nil {
		return
	}
	ld, st := w.leader()
	if ld == nil || len(st.Voters) < 2 {
		return
	}
	to := pick(w, st.Voters)
	if nodeID(to) == ld.id {
		return
	}
	w.faultf("transfer leader %d -> %d", ld.id, to)
	w.stats.transfers++
	// TransferLeader re-asks raft from its own goroutine whenever the
	// leader changes, racing the Ready loop; so it is cancelled as soon as
	// raft has the request, and raft carries the transfer on (or drops it
	// after an election timeout).
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = ld.rep.TransferLeader(ctx, to)
	}()
	w.settle()
	cancel()
	<-done
	w.settle()
}

// changeMembership adds a learner, promotes one or removes a member,
// through the leader.
func (w *world) changeMembership() {
	if w.faults.ctl != nil {
		return
	}
	ld, st := w.leader()
	if ld == nil {
		return
	}
	var cc raftpb.ConfChangeSingle
	op := &ctlOp{via: ld}
	switch r := w.rng.IntN(3); {
	case r == 0 && len(st.Learners) > 0:
		id := pick(w, st.Learners)
		cc = raftpb.ConfChangeSingle{Type: raftpb.ConfChangeAddNode.Enum(), NodeId: proto.Uint64(id)}
		op.what = fmt.Sprintf("promote %d", id)
	case r == 1 && (len(st.Learners) > 0 || len(st.Voters) > 3):
		id := pick(w, append(slices.Clone(st.Learners), st.Voters...))
		if !slices.Contains(st.Learners, id) && len(st.Voters) <= 3 {
			return
		}
		cc = raftpb.ConfChangeSingle{Type: raftpb.ConfChangeRemoveNode.Enum(), NodeId: proto.Uint64(id)}
		op.what, op.remove = fmt.Sprintf("remove %d", id), nodeID(id)
	default:
		if len(w.nodes) >= w.cfg.nodes+w.cfg.maxJoins {
			return
		}
		n := w.addNode(false)
		w.trace.add(w.now, evStart, uint64(n.id), 0, 0, 0)
		if err := w.start(n); err != nil {
			w.fail(err)
			return
		}
		cc = raftpb.ConfChangeSingle{Type: raftpb.ConfChangeAddLearnerNode.Enum(), NodeId: proto.Uint64(uint64(n.id))}
		op.what = fmt.Sprintf("add learner %d", n.id)
	}
	member := memberOf(nodeID(cc.GetNodeId()))
	ctxBytes, _ := proto.Marshal(member)
	change := &raftpb.ConfChangeV2{Changes: []*raftpb.ConfChangeSingle{&cc}, Context: ctxBytes}
	w.faultf("%s via node %d", op.what, ld.id)
	w.runCtl(op, func(ctx context.Context) error {
		_, err := ld.rep.ChangeMembership(ctx, change)
		return err
	})
}

func (w *world) runCtl(op *ctlOp, call func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	op.cancel = cancel
	op.deadline = w.now + 5*int64(w.cfg.electionTicks)*w.cfg.tickEvery
	w.faults.ctl = op
	go func() { op.finish(call(ctx)) }()
	w.settle()
}

// expire cancels a control operation past its deadline.
func (f *faultState) expire(w *world) {
	if f.ctl != nil && w.now >= f.ctl.deadline {
		f.ctl.cancel()
		w.settle()
	}
}

// collect handles a finished control operation: a node that was removed
// is stopped for good, as an operator would.
func (f *faultState) collect(w *world) {
	op := f.ctl
	if op == nil {
		return
	}
	done, err := op.result()
	if !done {
		return
	}
	f.ctl = nil
	op.cancel()
	w.faultf("%s: %v", op.what, err)
	if err == nil {
		w.stats.confChanges++
	}
	if err != nil || op.remove == 0 {
		return
	}
	n := w.node(op.remove)
	n.removed = true
	if n.up {
		w.pending = append(w.pending, func() { w.fail(w.crash(n)) })
	}
}

func (f *faultState) abandon() {
	if f.ctl != nil {
		f.ctl.cancel()
	}
}
