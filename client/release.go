package client

import (
	"context"
	"log"
	"sync"
	"sync/atomic"
	"time"
)

// Background release of file handles. A File's close must commit its
// layout before it returns (close-to-open), but releasing the handle only
// unpins the inode, which nothing a caller sees waits for: a FUSE RELEASE
// can return at once and leave the command to a few workers. A Release
// command carries one handle (proto Release), so the workers run up to
// releaseWorkers of them at a time rather than one after another.
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
	releaseWorkers      = 8    // releases in flight at once
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
				ctx, cancel := context.WithCancel(p.ctx)
				stop := context.AfterFunc(r.abort, cancel)
				p.ctx = ctx
				c.releaseNow(p)
				stop()
				cancel()
				r.done()
			}
		}()
	}
}

// releaseNow releases p's handle and lets go of the session hold its File
// had, logging a failure.
func (c *Client) releaseNow(p pendingRelease) {
	defer c.releaseSession()
	if err := c.Release(p.ctx, p.handle); err != nil {
		c.releases.failed.Add(1)
		log.Printf("geomds client: release of handle %d (inode %d): %v", p.handle, p.ino, err)
	}
}

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
