package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// probe is the liveness check: once the faults stop, a write must commit
// within cfg.livenessBound time units.
type probe struct {
	start  int64 // when the faults stopped; -1 before
	done   int64 // when the write committed; -1 before
	att    *attempt
	nextAt int64
}

const probeClientID = 1 << 20

func (p *probe) begin(w *world) { p.start, p.done, p.nextAt = w.now, -1, w.now }

func (p *probe) act(w *world) {
	if p.start < 0 || p.done >= 0 || w.now < p.nextAt {
		return
	}
	if p.att != nil {
		if w.now >= p.att.deadline {
			p.att.cancel()
			w.settle()
		}
		return
	}
	up := w.upNodes()
	if len(up) == 0 {
		p.nextAt = w.now + retryBackoff
		return
	}
	n := pick(w, up)
	cmd, _ := proto.Marshal(&pb.Command{Shard: shardID, ClientId: probeClientID, Seq: 1, TimeNs: w.now * 1e6, Op: &pb.Command_Noop{Noop: &pb.Noop{}}})
	ctx, cancel := context.WithCancel(context.Background())
	// A proposal forwarded to a leader that then loses leadership is only
	// bounded by its ctx, so the probe gives up after an election timeout.
	att := &attempt{node: n, inc: n.incarnation, cancel: cancel, deadline: w.now + int64(w.cfg.electionTicks)*w.cfg.tickEvery}
	p.att = att
	w.trace.add(w.now, evAttempt, probeClientID, 1, uint64(n.id), 0)
	rep := n.rep
	go func() { res, index, err := rep.Propose(ctx, cmd); att.finish(res, index, err) }()
	w.settle()
}

func (p *probe) collect(w *world) {
	if p.att == nil {
		return
	}
	done, _, _, err := p.att.result()
	if !done {
		return
	}
	p.att.cancel()
	p.att = nil
	if err == nil {
		p.done = w.now
		w.stats.worstProbe = w.now - p.start
		w.faultf("liveness probe committed %d after the faults stopped", w.now-p.start)
		return
	}
	p.nextAt = w.now + probeBackoff
}

const probeBackoff = 5

func (p *probe) abandon() {
	if p.att != nil {
		p.att.cancel()
	}
}

// finish ends a run: in liveness mode the cluster must have committed the
// probe in time and must converge to one state; in both modes every running
// node's state must pass the namespace checker.
func (w *world) finish() {
	if w.cfg.mode == livenessMode {
		w.finishLiveness()
	}
	for _, n := range w.upNodes() {
		w.rec.checkNamespace(n.id, n.eng, "at the end")
	}
	if v, ok := w.rec.firstViolation(); ok {
		w.fail(errors.New(v))
	}
}

func (w *world) finishLiveness() {
	if w.probe.done < 0 || w.probe.done-w.probe.start > w.cfg.livenessBound {
		w.fail(fmt.Errorf("liveness: no write committed within %d time units (%d ticks) after the faults stopped at %d",
			w.cfg.livenessBound, w.cfg.livenessBound/w.cfg.tickEvery, w.probe.start))
		return
	}
	end := w.now + w.cfg.livenessBound
	for ; w.now < end && w.err == nil; w.now++ {
		w.step()
		if w.now%(10*w.cfg.tickEvery) == 0 {
			if ok, _ := w.converged(); ok {
				return
			}
		}
	}
	if ok, why := w.converged(); w.err == nil && !ok {
		w.fail(fmt.Errorf("liveness: members did not converge within %d time units after the workload ended: %s; nodes: %s", w.cfg.livenessBound, why, w.describeNodes()))
	}
}

// converged reports whether no client is busy and every member of the
// leader's configuration has applied the leader's commit index, and then
// checks that their states are identical.
func (w *world) converged() (bool, string) {
	for _, c := range w.clients {
		if c.op != nil {
			return false, fmt.Sprintf("client %d still busy with %v", c.id, c.op.in)
		}
	}
	ld, st := w.leader()
	if ld == nil {
		return false, "no leader"
	}
	members := append(slices.Clone(st.Voters), st.Learners...)
	var states [][32]byte
	for _, id := range members {
		n := w.node(nodeID(id))
		if n == nil || !n.up || n.rep.Applied() < st.Commit {
			return false, fmt.Sprintf("leader %d (term %d, commit %d, voters %v, learners %v): member %d is not up or behind", ld.id, st.Term, st.Commit, st.Voters, st.Learners, id)
		}
	}
	for _, id := range members {
		n := w.node(nodeID(id))
		h, _, err := n.eng.StateHash(shardID)
		if err != nil {
			w.fail(err)
			return true, ""
		}
		states = append(states, h)
	}
	for i := range states {
		if states[i] != states[0] {
			w.fail(fmt.Errorf("converged members %v hold different states", members))
			return true, ""
		}
	}
	w.checkRegistry(members, st.Learners)
	return true, ""
}

// describeNodes summarises every node for a failure message.
func (w *world) describeNodes() string {
	var b strings.Builder
	for _, n := range w.nodes {
		fmt.Fprintf(&b, "\n  node %d: up=%v removed=%v incarnation=%d pauseTill=%d restartAt=%d", n.id, n.up, n.removed, n.incarnation, n.pauseTill, n.restartAt)
		if n.up {
			st := n.rep.Status()
			fmt.Fprintf(&b, " role=%s term=%d commit=%d applied=%d leader=%d voters=%v learners=%v", st.Role, st.Term, st.Commit, st.Applied, st.Leader, st.Voters, st.Learners)
		}
	}
	return b.String()
}

// checkRegistry compares the state machine's member registry with Raft's
// configuration on every member: the registry is how nodes find each
// other, so a member missing from it cannot be reached.
func (w *world) checkRegistry(members, learners []uint64) {
	want := slices.Sorted(slices.Values(members))
	for _, id := range members {
		var got []uint64
		for _, m := range w.node(nodeID(id)).fsm.Members() {
			got = append(got, m.GetId())
			if m.GetLearner() != slices.Contains(learners, m.GetId()) {
				w.fail(fmt.Errorf("node %d: registry says member %d learner=%v, raft disagrees", id, m.GetId(), m.GetLearner()))
				return
			}
		}
		if !slices.Equal(got, want) {
			w.fail(fmt.Errorf("node %d: member registry %v, raft configuration %v", id, got, want))
			return
		}
	}
}
