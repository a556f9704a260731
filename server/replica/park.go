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
// cannot apply them twice. Proposals that peers forwarded and raft dropped
// here are parked too (their waiters are at the peer, which wakes them when
// it applies the entry).
//
// Sent ahead: a leader that has told the transferee to campaign (sent it
// MsgTimeoutNow) sends what it parks straight to the transferee instead of
// waiting to hear from it as leader, which costs a round trip more. The
// transferee, a candidate then, parks them and appends them as soon as it
// leads. Their waiters here are kept while it campaigns and when it
// becomes leader (the entries are on their way to its log) and fail with
// ErrOutcomeUnknown otherwise, when the transfer ends without it, or after
// parkElections election timeouts: exactly-once commands make a retry of
// one that was applied after all return its first result.
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
	// timeoutNowTo is the node this leader last sent MsgTimeoutNow.
	timeoutNowTo uint64
	// ahead are the IDs of proposals sent ahead to aheadTo, aheadTicks
	// ticks ago.
	ahead      map[uint64]bool
	aheadTo    uint64
	aheadTicks int
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

// parkDropped parks the entries of a peer's MsgProp that raft dropped, if
// they are plain commands and leadership is being decided; raft drops the
// others as before.
func (r *Replica) parkDropped(m *raftpb.Message) {
	if !r.electing() || len(r.park.props)+len(m.GetEntries()) > maxParked {
		return
	}
	batch := make([]proposal, 0, len(m.GetEntries()))
	for _, e := range m.GetEntries() {
		id, ok := decodeID(e.GetData())
		if e.GetType() != raftpb.EntryType_EntryNormal || !ok {
			return
		}
		batch = append(batch, proposal{id: id, data: e.GetData()})
	}
	r.park.props = append(r.park.props, batch...)
}

// unpark steps the parked proposals again once a leader that accepts them
// is known, and reports whether it stepped them. It waits until the loop
// has observed that leader (handled the Ready announcing it): observing a
// leader change fails the waiters of proposals already handed to raft, and
// these must not be among them. A leader whose transferee was told to
// campaign sends them ahead to it instead.
func (r *Replica) unpark() bool {
	if len(r.park.props) == 0 {
		return false
	}
	st := r.loop.rn.BasicStatus()
	if st.RaftState == raft.StateLeader && st.LeadTransferee != raft.None && st.LeadTransferee == r.park.timeoutNowTo {
		r.sendAhead(st.LeadTransferee)
		return false
	}
	if r.electing() || st.Lead != r.loop.lead {
		return false
	}
	batch := r.park.props
	r.park.props, r.park.ticks = nil, 0
	r.stepProposals(batch)
	return true
}

// sendAhead sends the parked proposals to the transferee to, as the
// MsgProp a follower would forward, and keeps their IDs.
func (r *Replica) sendAhead(to uint64) {
	ents := make([]*raftpb.Entry, len(r.park.props))
	if r.park.ahead == nil || r.park.aheadTo != to {
		r.failAhead()
		r.park.ahead, r.park.aheadTo = map[uint64]bool{}, to
	}
	for i, p := range r.park.props {
		ents[i] = &raftpb.Entry{Data: p.data}
		r.park.ahead[p.id] = true
	}
	r.park.props, r.park.ticks, r.park.aheadTicks = nil, 0, 0
	r.send([]*raftpb.Message{{Type: raftpb.MsgProp.Enum(), From: new(r.id), To: new(to), Entries: ents}})
}

// failAhead fails the waiters of proposals sent ahead that are still
// waiting: whether they were appended is unknown.
func (r *Replica) failAhead() {
	for id := range r.park.ahead {
		r.props.deliver(id, result{err: ErrOutcomeUnknown})
	}
	r.park.ahead, r.park.aheadTo, r.park.aheadTicks = nil, 0, 0
}

// noteTimeoutNow records a MsgTimeoutNow among outgoing messages.
func (r *Replica) noteTimeoutNow(msgs []*raftpb.Message) {
	for _, m := range msgs {
		if m.GetType() == raftpb.MsgTimeoutNow {
			r.park.timeoutNowTo = m.GetTo()
		}
	}
}

// keptOnLeaderChange reports the waiters a change of leader to lead leaves
// waiting: parked proposals (in no log), and those sent ahead unless
// another node than their transferee leads (no leader yet is the
// transferee's campaign: this node steps down when it votes).
func (r *Replica) keptOnLeaderChange(lead uint64) func(id uint64) bool {
	parked := r.parkedSet()
	if len(r.park.ahead) == 0 || lead != raft.None && lead != r.park.aheadTo {
		return parked
	}
	ahead := r.park.ahead
	return func(id uint64) bool { return ahead[id] || parked != nil && parked(id) }
}

// ageParked counts a tick: against leaderless time, and against the parked
// proposals, which fail when they have waited parkElections election
// timeouts or the node has been leaderless that long. Proposals sent ahead
// fail when the transfer ended without making the transferee leader, or
// after parkElections election timeouts.
func (r *Replica) ageParked() {
	st := r.loop.rn.BasicStatus()
	if st.Lead == raft.None {
		r.park.leaderless = min(r.park.leaderless+1, neverLed)
	} else {
		r.park.leaderless = 0
	}
	if st.RaftState != raft.StateLeader || st.LeadTransferee == raft.None {
		r.park.timeoutNowTo = 0
	}
	if len(r.park.ahead) > 0 {
		r.park.aheadTicks++
		stillLeader := st.RaftState == raft.StateLeader && st.LeadTransferee == raft.None
		if stillLeader || r.park.aheadTicks >= parkElections*r.cfg.ElectionTicks {
			r.failAhead()
		}
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
