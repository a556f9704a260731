package client

import (
	"context"
	"time"

	"google.golang.org/grpc/connectivity"
)

// Open handles live in the client's session, which the state machine ends
// (releasing them) when it is not renewed for its timeout. While a Client
// has open Files, a keeper renews the session with KeepAlive.

const (
	sessionTimeout = 60 * time.Second   // the timeout KeepAlive asks for
	keepAliveEvery = sessionTimeout / 4 // renewal period: three may fail
)

// sessionKeeper renews one client's session while it has open files.
type sessionKeeper struct {
	files int // open Files; guarded by Client.keeperMu
	stop  context.CancelFunc
	done  chan struct{}
}

// holdSession notes one more open File, starting the keeper with the
// first.
func (c *Client) holdSession() {
	c.keeperMu.Lock()
	defer c.keeperMu.Unlock()
	if c.keeper == nil {
		ctx, stop := context.WithCancel(context.Background())
		c.keeper = &sessionKeeper{stop: stop, done: make(chan struct{})}
		go c.keepAlive(ctx, c.keeper.done)
	}
	c.keeper.files++
}

// releaseSession notes one File fewer, stopping the keeper (and waiting
// for it) after the last.
func (c *Client) releaseSession() {
	c.keeperMu.Lock()
	k := c.keeper
	if k == nil {
		c.keeperMu.Unlock()
		return
	}
	k.files--
	if k.files > 0 {
		c.keeperMu.Unlock()
		return
	}
	c.keeper = nil
	c.keeperMu.Unlock()
	k.stop()
	<-k.done
}

// stopKeeper ends the keeper when the client closes with files still open.
func (c *Client) stopKeeper() {
	c.keeperMu.Lock()
	k := c.keeper
	c.keeper = nil
	c.keeperMu.Unlock()
	if k != nil {
		k.stop()
		<-k.done
	}
}

// keepAlive renews the session every keepAliveEvery until ctx ends or the
// client's connections are closed.
func (c *Client) keepAlive(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(keepAliveEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if c.closed() {
			return
		}
		actx, cancel := context.WithTimeout(ctx, keepAliveEvery)
		_ = c.KeepAlive(actx, sessionTimeout) // a miss is retried next period
		cancel()
	}
}

// closed reports whether Close was called (every connection shut down).
func (c *Client) closed() bool {
	for _, ep := range c.eps {
		if ep.conn.GetState() != connectivity.Shutdown {
			return false
		}
	}
	return true
}
