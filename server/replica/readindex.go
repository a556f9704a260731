package replica

import (
	"context"
	"sync"

	"go.etcd.io/raft/v3"
)

// readRound is one raft ReadIndex request shared by every reader that was
// waiting when it was issued.
type readRound struct {
	ctx     []byte // request context: the round's sequence number
	readers []chan result
	ticks   int // ticks since issued; reissued after an election timeout
}

// readQueue holds readers that arrived after the current round was issued
// (they need a round of their own to be linearizable).
type readQueue struct {
	mu      sync.Mutex
	pending []chan result // guarded by mu
}

func (q *readQueue) add() chan result {
	ch := make(chan result, 1)
	q.mu.Lock()
	q.pending = append(q.pending, ch)
	q.mu.Unlock()
	return ch
}

func (q *readQueue) take() []chan result {
	q.mu.Lock()
	defer q.mu.Unlock()
	p := q.pending
	q.pending = nil
	return p
}

func (q *readQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// ReadIndex is a linearizable read barrier, on the leader or a follower:
// it returns an index at least as high as every write committed before the
// call, after this node has applied it. Concurrent callers share one raft
// round. ErrNoLeader: no leader is known; retry later.
func (r *Replica) ReadIndex(ctx context.Context) (uint64, error) {
	ch := r.reads.add()
	select {
	case r.readc <- struct{}{}:
	default:
	}
	var res result
	select {
	case res = <-ch:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-r.stopped:
		return 0, ErrStopped
	}
	if res.err != nil {
		return 0, res.err
	}
	return res.index, r.WaitApplied(ctx, res.index)
}

// maybeStartRead issues a read round for the waiting readers when none is
// in flight.
func (r *Replica) maybeStartRead() {
	l := &r.loop
	if l.round != nil || r.reads.len() == 0 {
		return
	}
	readers := r.reads.take()
	if l.lead == raft.None || r.leaseUnsafe() {
		failReaders(readers, ErrNoLeader)
		return
	}
	l.roundSeq++
	l.round = &readRound{ctx: encodeID(l.roundSeq), readers: readers}
	l.rn.ReadIndex(l.round.ctx)
}

// ageReadRound reissues a round that got no answer within an election
// timeout (raft drops a read when leadership changes under it).
func (r *Replica) ageReadRound() {
	l := &r.loop
	if l.round == nil {
		return
	}
	l.round.ticks++
	if l.round.ticks < r.cfg.ElectionTicks {
		return
	}
	if l.lead == raft.None {
		failReaders(l.round.readers, ErrNoLeader)
		l.round = nil
		return
	}
	l.roundSeq++
	l.round.ctx, l.round.ticks = encodeID(l.roundSeq), 0
	l.rn.ReadIndex(l.round.ctx)
}

// handleReadStates completes the round its read state answers.
func (r *Replica) handleReadStates(states []raft.ReadState) {
	l := &r.loop
	for _, rs := range states {
		if l.round == nil || string(rs.RequestCtx) != string(l.round.ctx) {
			continue
		}
		for _, ch := range l.round.readers {
			ch <- result{index: rs.Index}
		}
		l.round = nil
	}
}

func failReaders(readers []chan result, err error) {
	for _, ch := range readers {
		ch <- result{err: err}
	}
}
