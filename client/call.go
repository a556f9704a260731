package client

import (
	"context"
	"math/rand/v2"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/grpc/codes"
)

// callKind decides which failures a call may retry.
type callKind int

const (
	readCall   callKind = iota // idempotent
	mutateCall                 // exactly-once by (client_id, seq); leader first
	adminCall                  // membership changes: retried only on Unavailable
)

// rpcFunc performs one attempt on ep and returns its reply's meta (nil if
// the reply has none). It keeps the reply itself in a closure variable.
type rpcFunc func(ctx context.Context, ep *endpoint) (*pb.ReplyMeta, error)

// invoke runs fn on endpoints in order until it succeeds, fails for good, or
// ctx (bounded by RequestTimeout) ends. After each round over all endpoints
// it backs off. The error is an *Error.
func (c *Client) invoke(ctx context.Context, method string, kind callKind, fn rpcFunc) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	ctx = c.outgoing(ctx)
	var last, noQuorum *Error
	attempt, noQuorumRounds := 0, 0
	for round := 0; ; round++ {
		roundNoQuorum := false
		for _, ep := range c.order(kind == mutateCall) {
			e := c.attempt(ctx, method, attempt, kind, ep, fn)
			attempt++
			switch {
			case e == nil:
				return nil
			case ctx.Err() != nil:
				return timeoutError(ctx, e)
			case !retryable(e, kind):
				return e
			}
			last = e
			if e.reason == reasonNoQuorum {
				noQuorum, roundNoQuorum = e, true
			}
		}
		// Degraded mode: when every reachable node says it has no quorum,
		// round after round, say so instead of retrying until the deadline.
		if roundNoQuorum {
			noQuorumRounds++
		}
		if noQuorumRounds >= noQuorumGiveUp {
			return noQuorum
		}
		if !sleep(ctx, backoff(round)) {
			return timeoutError(ctx, last)
		}
	}
}

// noQuorumGiveUp rounds in which the reachable nodes reported no quorum end
// a call with that error (the nodes wait for their own no-quorum timeout
// before saying so, so these rounds span a real outage, not an election).
const (
	noQuorumGiveUp = 3
	reasonNoQuorum = "NO_QUORUM"
)

// attempt runs fn once on ep, bounded by AttemptTimeout, and records the
// outcome for routing and Explain.
func (c *Client) attempt(ctx context.Context, method string, n int, kind callKind, ep *endpoint, fn rpcFunc) *Error {
	actx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
	defer cancel()
	start := time.Now()
	meta, err := fn(actx, ep)
	c.trace(Trace{Method: method, Endpoint: ep.addr, Duration: time.Since(start), Attempt: n, Err: err}, meta)
	if err == nil {
		c.succeeded(ep, meta)
		return nil
	}
	e := fromStatus(err)
	if retryable(e, kind) {
		c.failed(ep, e)
	} else {
		c.succeeded(ep, nil) // it answered: a rejection is not a node failure
	}
	return e
}

// trace reports one attempt to Config.Explain.
func (c *Client) trace(t Trace, meta *pb.ReplyMeta) {
	if c.cfg.Explain == nil {
		return
	}
	t.Node, t.Site = meta.GetNode(), meta.GetSite()
	t.Consistency = meta.GetConsistency()
	t.Staleness = time.Duration(meta.GetStalenessNs())
	t.WANRoundTrips, t.ServerTime = int(meta.GetWanRoundTrips()), time.Duration(meta.GetServerNs())
	c.cfg.Explain(t)
}

// Cluster conditions that say "not applied here, try elsewhere or later".
var retryReasons = map[string]bool{"NO_LEADER": true, "NO_QUORUM": true, "STOPPED": true}

// retryable reports whether a failed attempt may be sent again. The caller
// has checked that its own ctx is alive, so DeadlineExceeded came from the
// server or from the attempt's own bound.
func retryable(e *Error, kind callKind) bool {
	switch {
	case retryReasons[e.reason], e.code == codes.Unavailable:
		return true
	case e.code == codes.DeadlineExceeded:
		return kind != adminCall
	}
	return false
}

// backoff returns the pause after the given round: 10 ms doubling to 1 s,
// with ±20% jitter so clients do not retry in step. The first rounds are
// short because the usual cause — a leader election or transfer — is over
// within a few round trips.
func backoff(round int) time.Duration {
	d := time.Second
	if round < 7 {
		d = 10 * time.Millisecond << round
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
