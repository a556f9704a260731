package sim

import (
	"crypto/sha256"
	"fmt"
	"sync"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
	"github.com/geomds/geomds/server/replica"
	"github.com/geomds/geomds/server/storage"
)

// recorder collects what the nodes report and the safety violations it
// finds. Replica goroutines report into it, so it is locked; the
// simulation reads violations after every input.
type recorder struct {
	mu         sync.Mutex
	violations []string

	leaders  map[uint64]nodeID    // term -> the node that sent leader-only messages in it
	entries  map[uint64]entryRec  // index -> the entry applied there
	results  map[uint64]string    // index -> the result its command produced
	states   map[uint64]stateRec  // applied index -> state hash
	hard     map[nodeID]hardState // the last hard state each node saved
	synced   map[nodeID]hardState // the last synced term and vote of each node
	commit   map[nodeID]uint64    // the highest commit index each node saved since it started
	restores int                  // snapshots restored, all nodes
}

type entryRec struct {
	term uint64
	sum  [32]byte
	by   nodeID
}

type stateRec struct {
	hash [32]byte
	by   nodeID
	how  string
}

type hardState struct{ term, vote uint64 }

func newRecorder() *recorder {
	return &recorder{
		leaders: map[uint64]nodeID{}, entries: map[uint64]entryRec{}, results: map[uint64]string{},
		states: map[uint64]stateRec{}, hard: map[nodeID]hardState{}, synced: map[nodeID]hardState{},
		commit: map[nodeID]uint64{},
	}
}

func (r *recorder) violatef(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.violateLocked(format, args...)
}

func (r *recorder) violateLocked(format string, args ...any) {
	r.violations = append(r.violations, fmt.Sprintf(format, args...))
}

func (r *recorder) restored() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.restores++
}

// counts fills in what the recorder counted.
func (r *recorder) counts(s *stats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.restores, s.leaders = r.restores, len(r.leaders)
}

// firstViolation is the first safety violation found, if any.
func (r *recorder) firstViolation() (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.violations) == 0 {
		return "", false
	}
	return r.violations[0], true
}

// sent checks a message a node sent: only a leader sends these types, so
// two senders in one term are two leaders.
func (r *recorder) sent(from nodeID, m *raftpb.Message) {
	switch m.GetType() {
	case raftpb.MsgApp, raftpb.MsgHeartbeat, raftpb.MsgSnap, raftpb.MsgTimeoutNow:
	default:
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	term := m.GetTerm()
	if prev, ok := r.leaders[term]; ok && prev != from {
		r.violateLocked("two leaders in term %d: nodes %d and %d", term, prev, from)
		return
	}
	r.leaders[term] = from
}

// savedHardState checks that a node's term never goes back, that it never
// changes its vote within a term, and that such changes are synced.
func (r *recorder) savedHardState(id nodeID, hs *raftpb.HardState, sync bool) {
	if hs == nil || raft.IsEmptyHardState(hs) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, prev := hardState{hs.GetTerm(), hs.GetVote()}, r.hard[id]
	switch {
	case cur.term < prev.term:
		r.violateLocked("node %d: term went back from %d to %d", id, prev.term, cur.term)
	case cur.term == prev.term && prev.vote != 0 && cur.vote != prev.vote:
		r.violateLocked("node %d: voted for %d and then %d in term %d", id, prev.vote, cur.vote, cur.term)
	case cur != prev && !sync:
		r.violateLocked("node %d: term/vote %v saved without sync", id, cur)
	}
	r.hard[id] = cur
	r.commit[id] = max(r.commit[id], hs.GetCommit())
	if sync {
		r.synced[id] = cur
	}
}

// hardOf and setHard save and restore what the recorder knows of a node's
// hard state, for a crash image taken before the latest saves.
func (r *recorder) hardOf(id nodeID) [2]hardState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return [2]hardState{r.hard[id], r.synced[id]}
}

func (r *recorder) setHard(id nodeID, h [2]hardState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hard[id], r.synced[id] = h[0], h[1]
}

// savedEntries checks that a node never writes, at an index it knows to be
// committed, an entry other than the one applied there (by Raft's log
// matching property, the same index and term mean the same entry). A node
// outside the quorum may hold a conflicting entry above its own commit
// index until the leader replaces it.
func (r *recorder) savedEntries(id nodeID, ents []*raftpb.Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	commit := r.commit[id]
	for _, e := range ents {
		if e.GetIndex() > commit {
			break
		}
		if prev, ok := r.entries[e.GetIndex()]; ok && prev.term != e.GetTerm() {
			r.violateLocked("node %d wrote term %d at index %d, committed with term %d (applied by node %d)",
				id, e.GetTerm(), e.GetIndex(), prev.term, prev.by)
		}
	}
}

// restarted checks what a node finds on disk when it starts: the term and
// vote it synced, and a state that matches every other replica's state at
// the same index.
func (r *recorder) restarted(w *world, n *node, eng *storage.Engine, log *storage.RaftLog) {
	hs, _, err := log.InitialState()
	if err != nil {
		r.violatef("node %d: initial state: %v", n.id, err)
		return
	}
	got := hardState{hs.GetTerm(), hs.GetVote()}
	r.mu.Lock()
	want := r.synced[n.id]
	if got.term < want.term || got.term == want.term && got != want {
		r.violateLocked("node %d: restarted with term/vote %v, but %v was synced", n.id, got, want)
	}
	r.hard[n.id] = got
	r.commit[n.id] = hs.GetCommit()
	r.mu.Unlock()
	r.stateAt(n.id, eng, "restart")
	r.checkNamespace(n.id, eng, "at restart")
}

// applying checks that a batch continues the node's applied prefix
// without a gap.
func (r *recorder) applying(id nodeID, applied uint64, ents []replica.Entry) {
	for i, e := range ents {
		if i > 0 && e.Index != ents[i-1].Index+1 {
			r.violatef("node %d: apply batch not consecutive at %d", id, e.Index)
			return
		}
	}
	if len(ents) > 0 && ents[0].Index > applied+1 {
		r.violatef("node %d: applied %d, then handed entries from %d (skipped %d)", id, applied, ents[0].Index, ents[0].Index-applied-1)
	}
}

// applied checks that the entry at an index is the same on every node,
// and so is the result it produced.
func (r *recorder) applied(id nodeID, e replica.Entry, res any) {
	rec := entryRec{term: e.Term, sum: entrySum(e), by: id}
	key := resultKey(res)
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.entries[e.Index]; ok {
		if prev.term != rec.term || prev.sum != rec.sum {
			r.violateLocked("index %d: node %d applied term %d %x, node %d applied term %d %x",
				e.Index, prev.by, prev.term, prev.sum[:4], id, rec.term, rec.sum[:4])
		}
		if r.results[e.Index] != key {
			r.violateLocked("index %d: node %d and node %d got different results", e.Index, prev.by, id)
		}
		return
	}
	r.entries[e.Index] = rec
	r.results[e.Index] = key
}

func entrySum(e replica.Entry) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%d/%d/", e.Type, len(e.Data))
	h.Write(e.Data)
	if e.ConfChange != nil {
		b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(e.ConfChange)
		h.Write(b)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// stateAt records the hash of a node's state at its applied index; two
// replicas at the same index must hold the same state.
func (r *recorder) stateAt(id nodeID, eng *storage.Engine, how string) {
	hash, applied, err := eng.StateHash(shardID)
	if err != nil {
		r.violatef("node %d: state hash: %v", id, err)
		return
	}
	if applied == 0 {
		return // bootstrapped voters and empty joiners differ before anything applied
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.states[applied]; ok {
		if prev.hash != hash {
			r.violateLocked("state at index %d differs: node %d (%s) has %x, node %d (%s) has %x",
				applied, prev.by, prev.how, prev.hash[:4], id, how, hash[:4])
		}
		return
	}
	r.states[applied] = stateRec{hash: hash, by: id, how: how}
}

// checkNamespace runs the namespace's invariant checker on a node's state.
func (r *recorder) checkNamespace(id nodeID, eng *storage.Engine, when string) {
	v, err := eng.View(shardID)
	if err != nil {
		r.violatef("node %d: view: %v", id, err)
		return
	}
	defer v.Close()
	if _, err := namespace.GetAttr(v, 1); namespace.ErrnoOf(err) == pb.Errno_ENOENT && v.Applied() == 0 {
		return // a joining node before its first snapshot holds no state yet
	}
	if err := namespace.Check(v); err != nil {
		r.violatef("node %d: namespace check %s (applied %d): %v", id, when, v.Applied(), err)
	}
}
