package client

import "sync"

// seqTracker hands out mutation sequence numbers and tracks acked_seq: the
// highest seq such that every seq at or below it has returned from Mutate.
type seqTracker struct {
	mu       sync.Mutex
	last     uint64          // last seq handed out
	acked    uint64          // every seq <= acked has returned
	returned map[uint64]bool // seqs above acked that have returned
}

// take returns a new seq and the acked_seq to send with it.
func (t *seqTracker) take() (seq, acked uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last++
	return t.last, t.acked
}

// done records that seq returned (answered, failed or abandoned: it is never
// sent again) and advances acked over every contiguous returned seq.
func (t *seqTracker) done(seq uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.returned == nil {
		t.returned = make(map[uint64]bool)
	}
	t.returned[seq] = true
	for t.returned[t.acked+1] {
		delete(t.returned, t.acked+1)
		t.acked++
	}
}
