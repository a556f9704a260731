package server_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server"
	"github.com/geomds/geomds/server/servertest"
)

// TestJoinPromoteRemove adds a learner at a new site under write load, reads
// from it locally, promotes it, and removes it again.
func TestJoinPromoteRemove(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cl := newClient(t, c, "east")
	for i := 0; i < 50; i++ {
		if err := cl.MkdirAll(ctx, fmt.Sprintf("/before/d%d", i), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if _, err := cl.AddMember(ctx, "n4", "south", addr, true); err != nil {
		t.Fatal(err)
	}
	n4, err := server.Start(context.Background(), server.Config{
		Name: "n4", Site: "south", DataDir: filepath.Join(t.TempDir(), "n4"), Listen: addr, Listener: l,
		InitialCluster: c.Peers(), Join: true, Logger: quiet(),
		TickInterval: 10 * time.Millisecond, HeartbeatTicks: 2, ElectionTicks: 30,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n4.Stop()
	if _, err := cl.Mkdir(ctx, "/after-join", 0o755); err != nil {
		t.Fatal(err)
	}
	// A STALE read served by the learner itself sees everything, once it
	// has caught up.
	south, err := client.New(ctx, client.Config{Endpoints: []string{addr}, Site: "south", Creds: &pb.Creds{},
		Consistency: pb.Consistency_STRONG})
	if err != nil {
		t.Fatal(err)
	}
	defer south.Close()
	waitFor(t, ctx, "learner serves a STRONG read of the newest write", func() error {
		_, err := south.Stat(ctx, "/after-join")
		return err
	})
	if m := south.LastMeta(); m.GetNode() != "n4" {
		t.Fatalf("read served by %q, want the learner n4", m.GetNode())
	}
	entries, err := south.ReadDir(ctx, "/before")
	if err != nil || len(entries) != 50 {
		t.Fatalf("learner's /before: %d entries, %v", len(entries), err)
	}
	waitFor(t, ctx, "promote n4", func() error {
		_, err := cl.PromoteMember(ctx, "n4")
		return err
	})
	ms, err := cl.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name == "n4" && m.Learner {
			t.Fatal("n4 still a learner after promote")
		}
	}
	if _, err := cl.Mkdir(ctx, "/after-promote", 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.RemoveMember(ctx, "n4"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Mkdir(ctx, "/after-remove", 0o755); err != nil {
		t.Fatalf("write after removing n4: %v", err)
	}
	// Removing a voter that would leave no healthy quorum is refused.
	c.StopNode(2)
	waitFor(t, ctx, "n3 reported unhealthy", func() error {
		st, err := cl.Status(ctx, false)
		if err != nil {
			return err
		}
		for _, r := range st.Shards[0].Replicas { // the leader's own view of its followers
			if r.Name == "n3" && r.Healthy {
				return fmt.Errorf("n3 still healthy")
			}
		}
		return nil
	})
	_, err = cl.RemoveMember(ctx, c.Peers()[1].Name)
	if client.ErrnoOf(err) != pb.Errno_EBUSY {
		t.Fatalf("remove with a quorum at risk: %v, want EBUSY", err)
	}
}

func waitFor(t *testing.T, ctx context.Context, what string, fn func() error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = fn(); err == nil {
			return
		}
	}
	t.Fatalf("%s: %v", what, err)
}
