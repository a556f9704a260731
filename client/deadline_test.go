package client

import (
	"context"
	"errors"
	"testing"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/grpc/codes"
)

// hang makes GetAttr block until the call is abandoned.
func hang(ctx context.Context, _ *pb.GetAttrRequest) error {
	<-ctx.Done()
	return ctx.Err()
}

// The caller's deadline ends the call, however many endpoints hang.
func TestCallerDeadline(t *testing.T) {
	a, b := startNode(t, "a", "east"), startNode(t, "b", "east")
	for _, n := range []*fakeNode{a, b} {
		n.set(func(n *fakeNode) { n.onGetAttr = hang })
	}
	c := newTestClient(t, Config{}, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Stat(ctx, "/")
	if !errors.Is(err, context.DeadlineExceeded) || ErrnoOf(err) != pb.Errno_ETIMEDOUT {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("returned after %v", d)
	}
}

// RequestTimeout bounds a call without a deadline; AttemptTimeout moves on
// from a hung endpoint to one that answers.
func TestRequestAndAttemptTimeout(t *testing.T) {
	a, b := startNode(t, "a", "east"), startNode(t, "b", "east")
	a.set(func(n *fakeNode) { n.onGetAttr = hang })
	c := newTestClient(t, Config{RequestTimeout: 20 * time.Second, AttemptTimeout: 200 * time.Millisecond}, a, b)
	if _, err := c.Stat(context.Background(), "/"); err != nil || c.LastMeta().GetNode() != "b" {
		t.Fatalf("stat: %v, served by %q", err, c.LastMeta().GetNode())
	}
	b.set(func(n *fakeNode) { n.onGetAttr = hang })
	short := newTestClient(t, Config{RequestTimeout: 300 * time.Millisecond}, a, b)
	_, err := short.Stat(context.Background(), "/")
	if ErrnoOf(err) != pb.Errno_ETIMEDOUT || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ETIMEDOUT", err)
	}
}

// A retryable failure is retried until the deadline, then reported as a
// timeout that names the last failure.
func TestRetryUntilDeadline(t *testing.T) {
	n := startNode(t, "a", "east")
	n.set(func(n *fakeNode) {
		n.onMutate = func(*pb.Command) error { return infoStatus(codes.Unavailable, "NO_LEADER", "no leader", nil) }
	})
	c := newTestClient(t, Config{RequestTimeout: 2 * time.Second}, n)
	_, err := c.Mutate(context.Background(), mkdirCmd("/d"))
	if ErrnoOf(err) != pb.Errno_ETIMEDOUT || len(n.mutations()) < 2 {
		t.Fatalf("err = %v after %d attempts", err, len(n.mutations()))
	}
	for _, m := range n.mutations() {
		if m.Seq != 1 {
			t.Fatalf("retry with seq %d", m.Seq)
		}
	}
}

// When every node says it has no quorum, round after round, the call ends
// with that error instead of retrying until its deadline (degraded mode).
func TestNoQuorumEndsEarly(t *testing.T) {
	n := startNode(t, "a", "east")
	n.set(func(n *fakeNode) {
		n.onMutate = func(*pb.Command) error {
			return infoStatus(codes.Unavailable, "NO_QUORUM", "unavailable: no quorum reachable from site east", nil)
		}
	})
	c := newTestClient(t, Config{RequestTimeout: 30 * time.Second}, n)
	start := time.Now()
	_, err := c.Mutate(context.Background(), mkdirCmd("/d"))
	if ErrnoOf(err) != pb.Errno_EAGAIN || errors.Is(err, context.DeadlineExceeded) || len(n.mutations()) != 3 {
		t.Fatalf("err = %v after %d attempts", err, len(n.mutations()))
	}
	if time.Since(start) > 20*time.Second {
		t.Fatalf("took %v: waited for the deadline", time.Since(start))
	}
}

// A closed client fails at once instead of retrying until its timeout.
func TestClosedClientFailsFast(t *testing.T) {
	n := startNode(t, "a", "east")
	c := newTestClient(t, Config{RequestTimeout: 20 * time.Second}, n)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.Stat(context.Background(), "/"); err == nil {
		t.Fatal("stat on a closed client succeeded")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
}
