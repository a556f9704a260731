package client

import (
	"context"
	"testing"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A node answering Unavailable is skipped: the same command goes to the
// next endpoint, and later calls stick to the one that worked.
func TestFailoverOnUnavailable(t *testing.T) {
	a := startNode(t, "a", "east")
	b := startNode(t, "b", "east")
	down := func(*pb.Command) error { return status.Error(codes.Unavailable, "stopping") }
	a.set(func(n *fakeNode) {
		n.onMutate = down
		n.onGetAttr = func(context.Context, *pb.GetAttrRequest) error { return status.Error(codes.Unavailable, "") }
	})
	c := newTestClient(t, Config{}, a, b)
	ctx := context.Background()
	if _, err := c.Mutate(ctx, mkdirCmd("/d")); err != nil {
		t.Fatal(err)
	}
	if got := c.LastMeta().GetNode(); got != "b" {
		t.Fatalf("served by %q, want b", got)
	}
	am, bm := a.mutations(), b.mutations()
	if len(bm) != 1 || (len(am) == 1 && (am[0].Seq != bm[0].Seq || am[0].ClientId != bm[0].ClientId)) {
		t.Fatalf("retry on b is not the same command: a=%v b=%v", am, bm)
	}
	for i := 0; i < 3; i++ {
		if _, err := c.Stat(ctx, "/"); err != nil {
			t.Fatal(err)
		}
		if got := c.LastMeta().GetNode(); got != "b" {
			t.Fatalf("stat %d served by %q, want b", i, got)
		}
	}
}

// A stopped node (connection refused) is skipped too.
func TestFailoverOnDeadNode(t *testing.T) {
	a := startNode(t, "a", "east")
	b := startNode(t, "b", "west")
	a.srv.Stop()
	c := newTestClient(t, Config{}, a, b)
	for i := 0; i < 3; i++ {
		if _, err := c.Mutate(context.Background(), mkdirCmd("/d")); err != nil {
			t.Fatal(err)
		}
	}
	if len(b.mutations()) != 3 {
		t.Fatalf("b got %d mutations, want 3", len(b.mutations()))
	}
}

// The caller's site is declared in metadata and same-site nodes serve first;
// mutations go to the leader once a reply named it.
func TestSiteRoutingAndLeaderHint(t *testing.T) {
	east := startNode(t, "e", "east")
	west := startNode(t, "w", "west")
	all := []*pb.NodeStatus{east.status(), west.status()}
	for _, n := range []*fakeNode{east, west} {
		n.set(func(n *fakeNode) { n.leader, n.nodes = "e", all })
	}
	c := newTestClient(t, Config{Site: "west"}, east, west)
	ctx := context.Background()
	if _, err := c.Stat(ctx, "/"); err != nil {
		t.Fatal(err)
	}
	if got := c.LastMeta().GetNode(); got != "w" {
		t.Fatalf("read served by %q, want the west node", got)
	}
	if _, err := c.Mutate(ctx, mkdirCmd("/d")); err != nil {
		t.Fatal(err)
	}
	if got := c.LastMeta().GetNode(); got != "e" {
		t.Fatalf("mutation served by %q, want the leader e", got)
	}
	if _, err := c.Stat(ctx, "/"); err != nil || c.LastMeta().GetNode() != "w" {
		t.Fatalf("read after mutation served by %q (%v), want w", c.LastMeta().GetNode(), err)
	}
	west.mu.Lock()
	defer west.mu.Unlock()
	if len(west.sites) == 0 || west.sites[0] != "west" {
		t.Fatalf("site metadata = %v", west.sites)
	}
}
