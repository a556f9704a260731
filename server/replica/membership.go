package replica

import (
	"context"
	"sync"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// ChangeMembership proposes cc and waits until this node has applied it,
// returning the resulting ConfState. One change at a time per node
// (ErrConfChangePending otherwise); raft also refuses a change while another
// is unapplied at the leader, in which case only ctx ends the wait.
// Add replicas as learners, promote them once caught up.
func (r *Replica) ChangeMembership(ctx context.Context, cc *raftpb.ConfChangeV2) (*raftpb.ConfState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // before taking the slot: a dead call must not refuse a live one
	}
	id := r.nextProposalID()
	ch, ok := r.confW.acquire(id)
	if !ok {
		return nil, ErrConfChangePending
	}
	defer r.confW.release(id)
	cc = proto.Clone(cc).(*raftpb.ConfChangeV2)
	// The proposal ID goes in front of the caller's context; apply strips
	// it again, so the state machine sees the context it was given.
	cc.Context = append(encodeID(id), cc.Context...)
	err := r.control(ctx, func() {
		if err := r.loop.rn.ProposeConfChange(cc); err != nil {
			r.confW.fail(id, r.dropReason())
		}
	})
	if err != nil {
		return nil, err
	}
	select {
	case res := <-ch:
		return res.cs, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-r.stopped:
		return nil, ErrStopped
	}
}

type confResult struct {
	cs  *raftpb.ConfState
	err error
}

// confWaiter holds this node's single pending conf change.
type confWaiter struct {
	mu sync.Mutex
	id uint64          // guarded by mu; 0 when none is pending
	ch chan confResult // guarded by mu
}

func (w *confWaiter) acquire(id uint64) (chan confResult, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.id != 0 {
		return nil, false
	}
	w.id, w.ch = id, make(chan confResult, 1)
	return w.ch, true
}

func (w *confWaiter) release(id uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.id == id {
		w.id, w.ch = 0, nil
	}
}

func (w *confWaiter) deliver(id uint64, cs *raftpb.ConfState) {
	w.send(id, confResult{cs: proto.Clone(cs).(*raftpb.ConfState)})
}

func (w *confWaiter) fail(id uint64, err error) { w.send(id, confResult{err: err}) }

func (w *confWaiter) failPending(err error) {
	w.mu.Lock()
	id := w.id
	w.mu.Unlock()
	if id != 0 {
		w.fail(id, err)
	}
}

func (w *confWaiter) send(id uint64, res confResult) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.id == id && w.ch != nil {
		w.ch <- res
		w.ch = nil
	}
}

// transferRetry: raft abandons a transfer after an election timeout, so it
// is asked again at this interval while the caller still waits.
const transferRetry = time.Second

// TransferLeader asks raft to hand leadership to `to` and waits until this
// node sees `to` as leader (or ctx ends). It may be called on any member.
func (r *Replica) TransferLeader(ctx context.Context, to uint64) error {
	retry := time.NewTicker(transferRetry)
	defer retry.Stop()
	for {
		changed := r.leaderCh.wait()
		if r.pub.get().lead == to {
			return nil
		}
		if err := r.control(ctx, func() { r.loop.rn.TransferLeader(to) }); err != nil {
			return err
		}
		select {
		case <-changed:
		case <-retry.C:
		case <-ctx.Done():
			return ctx.Err()
		case <-r.stopped:
			return ErrStopped
		}
	}
}

// notifier wakes everyone waiting for the next change.
type notifier struct {
	mu sync.Mutex
	ch chan struct{} // guarded by mu; closed and replaced by notify
}

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (n *notifier) notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}
