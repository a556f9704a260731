package replica

import (
	"slices"
	"sync"
	"time"

	"go.etcd.io/raft/v3"
)

// Status is a snapshot of the replica's view of its group.
type Status struct {
	Shard, ID uint64
	Leader    uint64 // 0 when unknown
	Term      uint64
	Commit    uint64
	Applied   uint64 // visible to reads on this node
	// Role: "leader", "follower", "candidate", "precandidate", "learner" or "stopped".
	Role string
	// Progress of every member, known only on the leader.
	Progress map[uint64]Progress
	Voters   []uint64 // sorted; incoming and outgoing voters during a joint change
	Learners []uint64 // sorted
	// LeadTransferee is the target of a leader transfer in progress (leader only).
	LeadTransferee uint64
}

// Progress is the leader's view of one member.
type Progress struct {
	Match        uint64
	Learner      bool
	RecentActive bool
}

// published is what the loop exposes to other goroutines without a round trip.
type published struct {
	mu sync.Mutex
	s  publishedState // guarded by mu
}

type publishedState struct {
	lead, term uint64
	role       string
}

func (p *published) get() publishedState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.s
}

// publish exports the loop's leader, term and role.
func (r *Replica) publish() {
	l := &r.loop
	s := publishedState{lead: l.lead, term: l.term, role: roleOf(l.state, r.isLearner())}
	r.pub.mu.Lock()
	r.pub.s = s
	r.pub.mu.Unlock()
}

func (r *Replica) isLearner() bool {
	return slices.Contains(r.loop.confState.GetLearners(), r.id) ||
		slices.Contains(r.loop.confState.GetLearnersNext(), r.id)
}

func roleOf(state raft.StateType, learner bool) string {
	switch state {
	case raft.StateLeader:
		return "leader"
	case raft.StateCandidate:
		return "candidate"
	case raft.StatePreCandidate:
		return "precandidate"
	}
	if learner {
		return "learner"
	}
	return "follower"
}

// Status reports the replica's state. It is computed on the loop goroutine
// (waiting at most for the current Ready); once stopped, the last known
// leader, term and applied index are reported with Role "stopped".
func (r *Replica) Status() Status {
	ch := make(chan Status, 1)
	select {
	case r.ctrlc <- func() { ch <- r.statusOnLoop() }:
	case <-r.stopped:
		return r.stoppedStatus()
	}
	select {
	case s := <-ch:
		return s
	case <-r.stopped:
		return r.stoppedStatus()
	}
}

func (r *Replica) stoppedStatus() Status {
	p := r.pub.get()
	return Status{Shard: r.shard, ID: r.id, Leader: p.lead, Term: p.term, Applied: r.applied.get(), Role: "stopped"}
}

func (r *Replica) statusOnLoop() Status {
	st := r.loop.rn.Status()
	s := Status{
		Shard: r.shard, ID: r.id, Leader: st.Lead, Term: st.GetTerm(), Commit: st.GetCommit(),
		Applied: r.applied.get(), Role: roleOf(st.RaftState, r.isLearner()),
		LeadTransferee: st.LeadTransferee,
	}
	for id := range st.Config.Voters.IDs() {
		s.Voters = append(s.Voters, id)
	}
	for id := range st.Config.Learners {
		s.Learners = append(s.Learners, id)
	}
	for id := range st.Config.LearnersNext {
		s.Learners = append(s.Learners, id)
	}
	slices.Sort(s.Voters)
	slices.Sort(s.Learners)
	if st.Progress != nil {
		s.Progress = make(map[uint64]Progress, len(st.Progress))
		for id, pr := range st.Progress {
			s.Progress[id] = Progress{Match: pr.Match, Learner: pr.IsLearner, RecentActive: pr.RecentActive}
		}
	}
	return s
}

// LastLeaderContact is when this node last heard from the leader: now on
// the leader itself, zero if never. STALE reads use it to bound staleness.
func (r *Replica) LastLeaderContact() time.Time {
	if r.pub.get().role == "leader" {
		return time.Now()
	}
	ns := r.contact.Load()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Applied is the index applied on this node (visible to local reads).
func (r *Replica) Applied() uint64 { return r.applied.get() }

// Leader is the leader this node knows of (0 if none), without a loop round trip.
func (r *Replica) Leader() uint64 { return r.pub.get().lead }
