package replica

import (
	"errors"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// Parking: raft drops a proposal while no leader is known and while this
// node, as leader, hands leadership over. Both last about one election
// round, so instead of failing the caller — who would back off, retry, and
// find the new leader itself — the loop keeps such proposals and steps them
// again as soon as a leader that accepts them is known (a follower forwards
// them to it). They are not in any log while parked, so re-proposing them
// cannot apply them twice.
//
// Bounds: at most maxParked proposals (more fail at once with ErrNoLeader),
// and none longer than parkElections election timeouts of ticks (then all
// parked fail with ErrNoLeader: there is no leader to be had soon, and the
// caller's retry loop and no-quorum check take over). A randomized election
// timeout is up to two election timeouts, and a pre-vote round precedes
// the vote: three cover one ordinary election.
const (
	maxParked     = proposalQueueLen
	parkElections = 3
)

// parking holds dropped proposals; owned by the loop goroutine.
type parking struct {
	props []proposal
	ticks int // ticks since the oldest held proposal was parked
	// leaderless counts ticks without a known leader since one was last
	// known. A node that never knew one (just started, or never joined)
	// or lost it long ago is not in an election but cut off or idle:
	// its proposals fail at once so callers try another node.
	leaderless int
}

// neverLed is the leaderless count of a node that has not known a leader.
const neverLed = 1 << 30

// stepProposals hands batch to raft as one MsgProp, parking it when raft
// drops it for want of an accepting leader.
func (r *Replica) stepProposals(batch []proposal) {
	ents := make([]*raftpb.Entry, len(batch))
	for i, p := range batch {
		ents[i] = &raftpb.Entry{Data: p.data}
	}
	err := r.loop.rn.Step(&raftpb.Message{Type: raftpb.MsgProp.Enum(), From: new(r.id), Entries: ents})
	if err == nil {
		return
	}
	if errors.Is(err, raft.ErrProposalDropped) {
		if r.electing() && len(r.park.props)+len(batch) <= maxParked {
			r.park.props = append(r.park.props, batch...)
			return
		}
		err = r.dropReason()
	}
	for _, p := range batch {
		r.props.deliver(p.id, result{err: err})
	}
}

// electing: leadership is being decided — this leader is transferring it,
// or the leader was lost within parkElections election timeouts — so a
// dropped proposal will find a leader shortly. It asks raft itself: the
// loop's view is updated only when Ready is handled.
func (r *Replica) electing() bool {
	st := r.loop.rn.BasicStatus()
	if st.RaftState == raft.StateLeader {
		return st.LeadTransferee != raft.None
	}
	return st.Lead == raft.None && r.park.leaderless < parkElections*r.cfg.ElectionTicks
}

// unpark steps the parked proposals again once a leader that accepts them
// is known, and reports whether it stepped them. It waits until the loop
// has observed that leader (handled the Ready announcing it): observing a
// leader change fails the waiters of proposals already handed to raft, and
// these must not be among them.
func (r *Replica) unpark() bool {
	if len(r.park.props) == 0 || r.electing() || r.loop.rn.BasicStatus().Lead != r.loop.lead {
		return false
	}
	batch := r.park.props
	r.park.props, r.park.ticks = nil, 0
	r.stepProposals(batch)
	return true
}

// ageParked counts a tick: against leaderless time, and against the parked
// proposals, which fail when they have waited parkElections election
// timeouts or the node has been leaderless that long.
func (r *Replica) ageParked() {
	if r.loop.rn.BasicStatus().Lead == raft.None {
		r.park.leaderless = min(r.park.leaderless+1, neverLed)
	} else {
		r.park.leaderless = 0
	}
	if len(r.park.props) == 0 {
		return
	}
	r.park.ticks++
	limit := parkElections * r.cfg.ElectionTicks
	if r.park.ticks < limit && r.park.leaderless < limit {
		return
	}
	err := r.dropReason()
	for _, p := range r.park.props {
		r.props.deliver(p.id, result{err: err})
	}
	r.park.props, r.park.ticks = nil, 0
}

// parkedSet returns a membership test for the parked proposals: their
// outcome is known (never proposed), so a leader change or a snapshot does
// not make it unknown.
func (r *Replica) parkedSet() func(id uint64) bool {
	if len(r.park.props) == 0 {
		return nil
	}
	ids := make(map[uint64]bool, len(r.park.props))
	for _, p := range r.park.props {
		ids[p.id] = true
	}
	return func(id uint64) bool { return ids[id] }
}
