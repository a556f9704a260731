package replica

import (
	"context"
	"errors"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// Run is the Ready loop: the only goroutine that owns the RawNode. It returns
// the fail-stop error, or ctx's error when ctx ends. Call it once.
func (r *Replica) Run(ctx context.Context) (err error) {
	if !r.runner.CompareAndSwap(false, true) {
		return errors.New("replica: Run called twice")
	}
	defer func() { r.stop(err) }()
	var tickC <-chan time.Time
	if r.cfg.TickInterval > 0 {
		t := time.NewTicker(r.cfg.TickInterval)
		defer t.Stop()
		tickC = t.C
	}
	for {
		if err := r.processReady(ctx); err != nil {
			r.log.Error("replica stopped", "err", err)
			return err
		}
		if r.unpark() {
			continue // their Ready first
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tickC:
			r.tick(1)
		case <-r.tickc:
			r.tick(int(r.ticks.Swap(0)))
		case m := <-r.recvc:
			r.step(m)
		case p := <-r.propc:
			r.proposeBatch(p)
		case f := <-r.ctrlc:
			f()
		case <-r.readc:
		}
		r.drainInputs()
		r.maybeStartRead()
	}
}

// drainInputs takes whatever else is queued (up to maxDrain) so that one
// Ready carries as much work as possible.
func (r *Replica) drainInputs() {
	for range maxDrain {
		select {
		case m := <-r.recvc:
			r.step(m)
		case p := <-r.propc:
			r.proposeBatch(p)
		case f := <-r.ctrlc:
			f()
		default:
			return
		}
	}
}

// processReady handles Ready until raft has nothing more to do.
func (r *Replica) processReady(ctx context.Context) error {
	for {
		if r.loop.fatal != nil {
			return r.loop.fatal
		}
		if !r.loop.rn.HasReady() {
			return nil
		}
		if err := r.handleReady(ctx); err != nil {
			return err
		}
	}
}

// Tick advances raft's clock by one tick (for tests and callers that drive
// time themselves; Run also ticks every TickInterval when it is set).
func (r *Replica) Tick() {
	r.ticks.Add(1)
	select {
	case r.tickc <- struct{}{}:
	default:
	}
}

func (r *Replica) tick(n int) {
	if r.cfg.TickInterval > 0 {
		now := time.Now()
		if r.pausedSince(now) {
			r.loop.leaseHoldTicks = 2 * r.cfg.ElectionTicks
		}
		r.loop.lastTick = now
	}
	r.loop.leaseHoldTicks = max(0, r.loop.leaseHoldTicks-n)
	for range n {
		r.loop.rn.Tick()
		r.ageReadRound()
		r.ageParked()
	}
}

// step hands a received message to raft. Errors (a response from a peer no
// longer in the group, a local message type) only mean the message is ignored.
func (r *Replica) step(m *raftpb.Message) {
	if fromLeader(m) && m.GetTerm() >= r.loop.term {
		r.contact.Store(time.Now().UnixNano())
	}
	if m.GetType() == raftpb.MsgReadIndex && r.leaseUnsafe() {
		return // the follower's read round is reissued after a timeout
	}
	if err := r.loop.rn.Step(m); err != nil {
		r.log.Debug("step ignored", "type", m.GetType().String(), "from", m.GetFrom(), "err", err)
	}
}

// fromLeader: only a leader sends these, so with a current term they are
// leader contact (for LastLeaderContact).
func fromLeader(m *raftpb.Message) bool {
	switch m.GetType() {
	case raftpb.MsgApp, raftpb.MsgHeartbeat, raftpb.MsgSnap, raftpb.MsgReadIndexResp, raftpb.MsgTimeoutNow:
		return true
	}
	return false
}

// control runs f on the loop goroutine and waits for it to be queued.
func (r *Replica) control(ctx context.Context, f func()) error {
	select {
	case r.ctrlc <- f:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stopped:
		return ErrStopped
	}
}

// leaseUnsafe: with lease reads, a leader that is handing leadership over
// must not answer reads from its lease — the transferee campaigns at once,
// without waiting out the lease, and may commit writes this leader has not
// seen.
func (r *Replica) leaseUnsafe() bool {
	if !r.cfg.LeaseReads {
		return false
	}
	l := &r.loop
	if l.leaseHoldTicks > 0 || r.pausedSince(time.Now()) {
		return true
	}
	st := l.rn.BasicStatus()
	return st.RaftState == raft.StateLeader && st.LeadTransferee != raft.None
}

// pausedSince: ticks stopped for more than half an election timeout (the
// process was paused or starved); only known when Run drives the ticks.
func (r *Replica) pausedSince(now time.Time) bool {
	l := &r.loop
	if r.cfg.TickInterval == 0 || l.lastTick.IsZero() {
		return false
	}
	return now.Sub(l.lastTick) > time.Duration(r.cfg.ElectionTicks)*r.cfg.TickInterval/2
}
