package replica

import (
	"context"
	"errors"
	"fmt"
	"io"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// Step hands a message from a peer to raft. It blocks while the receive
// queue (recvQueueLen) is full: back-pressure on the sending stream.
func (r *Replica) Step(ctx context.Context, m *raftpb.Message) error {
	if m.GetType() == raftpb.MsgSnap {
		// Without its state stream raft would skip entries the state
		// machine never saw.
		return errors.New("replica: MsgSnap must come through StepSnapshot")
	}
	select {
	case r.recvc <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stopped:
		return ErrStopped
	}
}

// ReportUnreachable tells raft a send to id failed. It never blocks: when
// the control queue is full the report is dropped (raft only uses it to
// slow down probing).
func (r *Replica) ReportUnreachable(id uint64) {
	select {
	case r.ctrlc <- func() { r.loop.rn.ReportUnreachable(id) }:
	default:
	}
}

// ReportSnapshot tells raft whether a MsgSnap to id was delivered. Unlike
// ReportUnreachable it waits for queue space: raft keeps the follower paused
// until it hears the outcome.
func (r *Replica) ReportSnapshot(id uint64, ok bool) {
	status := raft.SnapshotFinish
	if !ok {
		status = raft.SnapshotFailure
	}
	select {
	case r.ctrlc <- func() { r.loop.rn.ReportSnapshot(id, status) }:
	case <-r.stopped:
	}
}

// WriteSnapshot streams this node's state for a MsgSnap this node sends
// (the transport's snapshot source). The state is at or after the
// snapshot's index; the receiver skips the entries it already holds.
func (r *Replica) WriteSnapshot(w io.Writer) error {
	_, err := r.cfg.SM.WriteSnapshot(w)
	return err
}

// StepSnapshot handles a MsgSnap with the leader's state stream: the state
// machine is restored from data on the loop goroutine, then raft steps m.
// A failure to read data is returned (the leader retries); a state machine
// failure stops the replica.
func (r *Replica) StepSnapshot(ctx context.Context, m *raftpb.Message, data io.Reader) error {
	if m.GetType() != raftpb.MsgSnap {
		return fmt.Errorf("replica: StepSnapshot with %v", m.GetType())
	}
	done := make(chan error, 1)
	if err := r.control(ctx, func() { done <- r.stepSnapshotOnLoop(m, data) }); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stopped:
		return ErrStopped
	}
}

// stepSnapshotOnLoop restores only a snapshot raft will accept: from a
// current term and beyond what is already committed and applied.
func (r *Replica) stepSnapshotOnLoop(m *raftpb.Message, data io.Reader) error {
	l := &r.loop
	index := m.GetSnapshot().GetMetadata().GetIndex()
	st := l.rn.BasicStatus()
	if m.GetTerm() >= st.GetTerm() && index > max(st.GetCommit(), l.smApplied) {
		src := &trackedReader{r: data}
		if err := r.cfg.SM.RestoreSnapshot(src); err != nil {
			if src.err != nil {
				return fmt.Errorf("replica: snapshot stream: %w", err)
			}
			l.fatal = fmt.Errorf("replica: restore snapshot: %w", err)
			return ErrStopped
		}
		l.smApplied = r.cfg.SM.Applied()
		if l.smApplied < index {
			l.fatal = fmt.Errorf("replica: restored state at %d is older than snapshot %d", l.smApplied, index)
			return ErrStopped
		}
		r.applied.set(max(l.applied, l.smApplied))
		// Entries the snapshot covers are never applied here, so waiters
		// for them would never wake.
		r.props.failAll(ErrOutcomeUnknown, r.parkedSet())
		r.confW.failPending(ErrOutcomeUnknown)
	}
	r.step(m)
	return nil
}

// trackedReader remembers a read error so a broken stream is told apart from
// a state machine failure.
type trackedReader struct {
	r   io.Reader
	err error
}

func (t *trackedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}
