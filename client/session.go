package client

import (
	"context"
	"sync"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// maxUnacked is how far past acked_seq a seq may be: the namespace refuses
// a command further out (namespace.MaxUnackedResults, EAGAIN), so take
// waits instead, until the oldest call in flight returns (each is bounded
// by RequestTimeout).
const maxUnacked = 1 << 16

// seqTracker hands out mutation sequence numbers and tracks acked_seq: the
// highest seq such that every seq at or below it has returned from Mutate.
type seqTracker struct {
	mu       sync.Mutex
	last     uint64          // last seq handed out
	acked    uint64          // every seq <= acked has returned
	returned map[uint64]bool // seqs above acked that have returned
	advanced chan struct{}   // closed (and replaced) when acked advances
}

// take returns a new seq and the acked_seq to send with it, waiting while
// the next seq would be more than maxUnacked past acked.
func (t *seqTracker) take(ctx context.Context) (seq, acked uint64, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.last+1-t.acked > maxUnacked {
		if t.advanced == nil {
			t.advanced = make(chan struct{})
		}
		wait := t.advanced
		t.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			t.mu.Lock()
			return 0, 0, &Error{Errno: pb.Errno_EAGAIN, Op: "mutate",
				Msg: "too many calls not yet returned: " + ctx.Err().Error()}
		}
		t.mu.Lock()
	}
	t.last++
	return t.last, t.acked, nil
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
	old := t.acked
	for t.returned[t.acked+1] {
		delete(t.returned, t.acked+1)
		t.acked++
	}
	if t.acked != old && t.advanced != nil {
		close(t.advanced)
		t.advanced = nil
	}
}
