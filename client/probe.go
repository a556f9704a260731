package client

import (
	"context"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/grpc/codes"
)

const (
	probeTimeout = 5 * time.Second // one probe of one endpoint
	probeWait    = 2 * time.Second // how long New waits for a same-site node
)

// startProbe asks every endpoint, in the background, for its local Status:
// that names its node and site and measures its round trip. With a Site
// configured it waits (bounded by probeWait and ctx) for a same-site answer.
func (c *Client) startProbe(ctx context.Context) {
	pctx, cancel := context.WithCancel(context.Background())
	c.stopProbe = cancel
	if len(c.eps) < 2 {
		return // nothing to order
	}
	answered := make(chan struct{}, len(c.eps))
	for _, ep := range c.eps {
		c.probes.Add(1)
		go func() {
			defer c.probes.Done()
			c.probe(pctx, ep)
			answered <- struct{}{}
		}()
	}
	if c.cfg.Site != "" {
		c.awaitLocal(ctx, answered)
	}
}

// awaitLocal returns once a probe found an endpoint at the client's site,
// every probe finished, probeWait passed, or ctx ended.
func (c *Client) awaitLocal(ctx context.Context, answered <-chan struct{}) {
	timer := time.NewTimer(probeWait)
	defer timer.Stop()
	for range c.eps {
		select {
		case <-answered:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
		if c.hasLocal() {
			return
		}
	}
}

func (c *Client) hasLocal() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ep := range c.eps {
		if ep.site == c.cfg.Site {
			return true
		}
	}
	return false
}

// probe measures ep's round trip with a local Status call and learns the
// node names and sites it reports.
func (c *Client) probe(ctx context.Context, ep *endpoint) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	start := time.Now()
	reply, err := ep.cl.Status(c.outgoing(ctx), &pb.StatusRequest{Local: true})
	rtt := max(time.Since(start), time.Nanosecond)
	if err != nil {
		if e := fromStatus(err); e.code == codes.Unavailable && ctx.Err() == nil {
			c.failed(ep, e)
		}
		return
	}
	c.learnNodes(reply.GetNodes())
	c.mu.Lock()
	ep.rtt = rtt
	c.learnLocked(ep, reply.GetMeta())
	c.mu.Unlock()
}
