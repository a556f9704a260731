package replica

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"

	"go.etcd.io/raft/v3"
)

// headerLen is the proposal-ID header prefixed to every proposed payload.
const headerLen = 8

// idBits: the low 48 bits of a proposal ID count; the node ID fills the rest.
const idBits = 48

// proposal is one queued Propose call: its ID and header-prefixed data.
type proposal struct {
	id   uint64
	data []byte
}

// result is what a proposal waiter receives.
type result struct {
	value any
	index uint64
	err   error
}

// Propose replicates payload and waits until this node has applied it. It
// returns the state machine's result and the entry's index. ErrNoLeader
// means raft dropped it (nothing applied); ErrStopped or a ctx error leave
// the outcome unknown.
func (r *Replica) Propose(ctx context.Context, payload []byte) (any, uint64, error) {
	id := r.nextProposalID()
	w := r.props.add(id)
	defer r.props.remove(id)
	data := make([]byte, headerLen+len(payload))
	binary.BigEndian.PutUint64(data, id)
	copy(data[headerLen:], payload)
	select {
	case r.propc <- proposal{id: id, data: data}:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	case <-r.stopped:
		return nil, 0, ErrStopped
	}
	select {
	case res := <-w:
		return res.value, res.index, res.err
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	case <-r.stopped:
		return nil, 0, ErrStopped
	}
}

// nextProposalID: node ID in the high bits keeps IDs of different nodes
// apart; the counter starts at a random value so IDs from before a restart
// are not reused.
func (r *Replica) nextProposalID() uint64 {
	for {
		id := r.id<<idBits | r.idSeq.Add(1)&(1<<idBits-1)
		if id != 0 {
			return id
		}
	}
}

func splitHeader(data []byte) (id uint64, payload []byte, err error) {
	if len(data) == 0 {
		return 0, nil, nil // a new leader's empty entry
	}
	id, ok := decodeID(data)
	if !ok {
		return 0, nil, fmt.Errorf("entry of %d bytes has no proposal header", len(data))
	}
	return id, data[headerLen:], nil
}

func decodeID(b []byte) (uint64, bool) {
	if len(b) < headerLen {
		return 0, false
	}
	return binary.BigEndian.Uint64(b), true
}

func encodeID(id uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, id)
}

// proposeBatch sends first and whatever else is queued (up to
// maxProposalBatch) to raft as one MsgProp.
func (r *Replica) proposeBatch(first proposal) {
	batch := []proposal{first}
more:
	for len(batch) < maxProposalBatch {
		select {
		case p := <-r.propc:
			batch = append(batch, p)
		default:
			break more
		}
	}
	r.stepProposals(batch)
}

// dropReason explains why raft dropped a proposal; always ErrNoLeader so
// callers retry.
func (r *Replica) dropReason() error {
	if r.loop.lead == raft.None {
		return ErrNoLeader
	}
	return fmt.Errorf("%w: proposal dropped by raft (leader transfer or back-pressure)", ErrNoLeader)
}

// waiterSet maps proposal IDs to the channels their callers wait on.
type waiterSet struct {
	mu sync.Mutex
	m  map[uint64]chan result // guarded by mu
}

func (s *waiterSet) init() { s.m = make(map[uint64]chan result) }

func (s *waiterSet) add(id uint64) chan result {
	ch := make(chan result, 1)
	s.mu.Lock()
	s.m[id] = ch
	s.mu.Unlock()
	return ch
}

func (s *waiterSet) remove(id uint64) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// deliver wakes the waiter for id, if this node still has one.
func (s *waiterSet) deliver(id uint64, res result) {
	s.mu.Lock()
	ch, ok := s.m[id]
	delete(s.m, id)
	s.mu.Unlock()
	if ok {
		ch <- res
	}
}

// failAll fails every waiter but those keep reports (their entries'
// results are unknowable; kept ones are known not to be in any log).
func (s *waiterSet) failAll(err error, keep func(id uint64) bool) {
	s.mu.Lock()
	var failed []chan result
	for id, ch := range s.m {
		if keep == nil || !keep(id) {
			failed = append(failed, ch)
			delete(s.m, id)
		}
	}
	s.mu.Unlock()
	for _, ch := range failed {
		ch <- result{err: err}
	}
}
