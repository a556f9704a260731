package replica

import (
	"container/heap"
	"context"
	"sync"
)

// WaitApplied waits until this node has applied index (or ctx ends, or the
// replica stops).
func (r *Replica) WaitApplied(ctx context.Context, index uint64) error {
	w := r.applied.wait(index)
	if w == nil {
		return nil
	}
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		r.applied.cancel(w)
		return ctx.Err()
	case <-r.stopped:
		r.applied.cancel(w)
		return ErrStopped
	}
}

// appliedIndex is the applied index visible to readers, with a heap of
// waiters ordered by the index they wait for.
type appliedIndex struct {
	mu      sync.Mutex
	index   uint64         // guarded by mu
	waiters appliedWaiters // guarded by mu
}

type appliedWaiter struct {
	index uint64
	ch    chan struct{}
	pos   int // position in the heap; -1 once removed
}

func (a *appliedIndex) get() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.index
}

// wait returns nil when index is already applied.
func (a *appliedIndex) wait(index uint64) *appliedWaiter {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.index >= index {
		return nil
	}
	w := &appliedWaiter{index: index, ch: make(chan struct{})}
	heap.Push(&a.waiters, w)
	return w
}

func (a *appliedIndex) cancel(w *appliedWaiter) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if w.pos >= 0 {
		heap.Remove(&a.waiters, w.pos)
	}
}

// set raises the index and wakes every waiter it satisfies.
func (a *appliedIndex) set(index uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if index <= a.index {
		return
	}
	a.index = index
	for len(a.waiters) > 0 && a.waiters[0].index <= index {
		close(heap.Pop(&a.waiters).(*appliedWaiter).ch)
	}
}

// appliedWaiters implements heap.Interface (min-heap by index).
type appliedWaiters []*appliedWaiter

func (h appliedWaiters) Len() int           { return len(h) }
func (h appliedWaiters) Less(i, j int) bool { return h[i].index < h[j].index }
func (h appliedWaiters) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pos, h[j].pos = i, j
}
func (h *appliedWaiters) Push(x any) {
	w := x.(*appliedWaiter)
	w.pos = len(*h)
	*h = append(*h, w)
}
func (h *appliedWaiters) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	w.pos = -1
	return w
}
