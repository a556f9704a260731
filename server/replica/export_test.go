package replica

// onLoop runs f on r's loop and returns its answer; ok is false once stopped.
func onLoop[T any](r *Replica, f func() T) (v T, ok bool) {
	ch := make(chan T, 1)
	select {
	case r.ctrlc <- func() { ch <- f() }:
	case <-r.stopped:
		return v, false
	}
	select {
	case v = <-ch:
		return v, true
	case <-r.stopped:
		return v, false
	}
}

// Idle reports whether r has nothing queued and nothing ready: tests use it
// to let a tick's consequences settle before the next tick. A stopped
// replica is idle.
func Idle(r *Replica) bool {
	idle, ok := onLoop(r, func() bool {
		return len(r.recvc) == 0 && len(r.propc) == 0 && r.ticks.Load() == 0 && !r.loop.rn.HasReady()
	})
	return idle || !ok
}

// ReadWaiters counts readers waiting for a read round (queued or in flight).
func ReadWaiters(r *Replica) int {
	n, _ := onLoop(r, func() int {
		n := r.reads.len()
		if r.loop.round != nil {
			n += len(r.loop.round.readers)
		}
		return n
	})
	return n
}

// ConfChangePending reports whether r has a conf change of its own waiting.
func ConfChangePending(r *Replica) bool {
	r.confW.mu.Lock()
	defer r.confW.mu.Unlock()
	return r.confW.id != 0
}
