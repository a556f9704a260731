package client

import (
	"context"
	"fmt"
	"log"
	"sync"
	"sync/atomic"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Background release of file handles. A File's close must commit its
// layout before it returns (close-to-open), but releasing the handle only
// unpins the inode, which nothing a caller sees waits for: a FUSE RELEASE
// can return at once and leave the command to a few workers. Each worker
// takes whatever is queued (up to releaseBatch handles) into one Release
// command, so under many closes a release costs a fraction of a command,
// and up to releaseWorkers commands are in flight at once.
//
// The queue is bounded (releaseQueue handles); when it is full the closer
// releases its handle itself, so a burst of closes slows down instead of
// growing memory. CloseSession and Close first wait for the queue to empty
// (bounded by CloseSession's ctx, and by releaseDrainTimeout in Close), so
// queued releases reach the cluster before the session they belong to
// ends. A failed release is logged and counted; the session's end releases
// the handle in any case.

const (
	releaseQueue        = 1024 // handles waiting for a worker
	releaseWorkers      = 8    // Release commands in flight at once
	releaseBatch        = 256  // handles per Release command
	releaseDrainTimeout = 10 * time.Second
)

// pendingRelease is one handle waiting to be released.
type pendingRelease struct {
	ctx    context.Context // the opener's values (creds), never cancelled
	ino    uint64          // for the log
	handle uint64
}

// releaser is the background release queue of one Client. Its zero value
// is ready: the queue and workers start with the first handle.
type releaser struct {
	mu      sync.Mutex
	queue   chan pendingRelease // nil until the first handle, closed by stop
	stopped bool
	pending int             // handles queued or being released
	idle    chan struct{}   // closed when pending drops to 0; nil while 0
	abort   context.Context // ends when stop gives up draining
	cancel  context.CancelFunc
	workers sync.WaitGroup
	failed  atomic.Uint64 // releases that failed (each is logged)
}

// releaseLater hands p's release to the background workers; with the
// queue full or stopped it releases p itself. It reports whether p was
// queued.
func (c *Client) releaseLater(p pendingRelease) bool {
	r := &c.releases
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		c.releaseNow(p)
		return false
	}
	if r.queue == nil {
		r.startLocked(c)
	}
	select {
	case r.queue <- p:
		r.addLocked()
		r.mu.Unlock()
		return true
	default:
		r.mu.Unlock()
		c.releaseNow(p)
		return false
	}
}

// startLocked makes the queue and starts the workers.
func (r *releaser) startLocked(c *Client) {
	r.queue = make(chan pendingRelease, releaseQueue)
	r.abort, r.cancel = context.WithCancel(context.Background())
	r.workers.Add(releaseWorkers)
	for range releaseWorkers {
		go func() {
			defer r.workers.Done()
			for p := range r.queue {
				batch := takeQueued(r.queue, []pendingRelease{p})
				ctx, cancel := context.WithCancel(p.ctx)
				stop := context.AfterFunc(r.abort, cancel)
				c.releaseBatch(ctx, batch)
				stop()
				cancel()
				for range batch {
					r.done()
				}
			}
		}()
	}
}

// takeQueued adds to batch whatever q holds now, up to releaseBatch.
func takeQueued(q <-chan pendingRelease, batch []pendingRelease) []pendingRelease {
	for len(batch) < releaseBatch {
		select {
		case p, ok := <-q:
			if !ok {
				return batch
			}
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

// releaseBatch releases the handles of batch in one command, with the
// first's creds (a release needs none but the session's own), and lets
// go of their Files' session holds, logging a failure.
func (c *Client) releaseBatch(ctx context.Context, batch []pendingRelease) {
	handles := make([]uint64, len(batch))
	for i, p := range batch {
		handles[i] = p.handle
		defer c.releaseSession()
	}
	_, err := c.Mutate(ctx, &pb.Command{Op: &pb.Command_Release{Release: &pb.Release{Handle: handles[0], More: handles[1:]}}})
	if err != nil {
		c.releases.failed.Add(uint64(len(batch)))
		more := ""
		if len(batch) > 1 {
			more = fmt.Sprintf(" and %d more", len(batch)-1)
		}
		log.Printf("geomds client: release of handle %d (inode %d)%s: %v", batch[0].handle, batch[0].ino, more, err)
	}
}

// releaseNow releases p's handle itself (queue full or stopped).
func (c *Client) releaseNow(p pendingRelease) { c.releaseBatch(p.ctx, []pendingRelease{p}) }

func (r *releaser) addLocked() {
	if r.pending == 0 {
		r.idle = make(chan struct{})
	}
	r.pending++
}

func (r *releaser) done() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending--
	if r.pending == 0 {
		close(r.idle)
		r.idle = nil
	}
}

// drainReleases waits until every queued release has been sent and
// answered, or ctx ends (then it returns ctx's error).
func (c *Client) drainReleases(ctx context.Context) error {
	r := &c.releases
	r.mu.Lock()
	idle := r.idle
	r.mu.Unlock()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stopReleases drains the queue (for at most releaseDrainTimeout; what
// is left then fails fast, and is logged), then stops the workers; later
// closes release their handles themselves.
func (c *Client) stopReleases() {
	ctx, cancel := context.WithTimeout(context.Background(), releaseDrainTimeout)
	defer cancel()
	_ = c.drainReleases(ctx)
	r := &c.releases
	r.mu.Lock()
	if !r.stopped && r.queue != nil {
		r.cancel()
		close(r.queue)
	}
	r.stopped = true
	r.mu.Unlock()
	r.workers.Wait()
}
