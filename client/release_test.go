package client

import (
	"bytes"
	"context"
	"log"
	"os"
	"strings"
	"testing"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// releaseNode is a fake node whose Mknod creates a regular file with
// handle 42, and whose Release commands wait until gate is closed.
func releaseNode(t *testing.T, gate <-chan struct{}) *fakeNode {
	n := startNode(t, "n1", "east")
	n.set(func(n *fakeNode) {
		n.result = func(cmd *pb.Command) *pb.Result {
			if cmd.GetMknod() != nil {
				return &pb.Result{Attr: &pb.Attr{Ino: 7, Mode: ModeRegular | 0o644, Nlink: 1}, Handle: 42}
			}
			return &pb.Result{}
		}
		n.onMutate = func(cmd *pb.Command) error {
			if cmd.GetRelease() != nil {
				n.mu.Unlock() // let reads and the test look while the release waits
				<-gate
				n.mu.Lock()
			}
			return nil
		}
	})
	return n
}

// opNames lists the commands a node received, by kind.
func opNames(cmds []*pb.Command) []string {
	var out []string
	for _, c := range cmds {
		op, _ := describe(c)
		out = append(out, op)
	}
	return out
}

// within runs f and fails the test if it has not returned after d.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s still waiting after %v", what, d)
	}
}

// TestCloseReleaseLater: the close returns while the Release command is
// still unanswered; draining waits for it; CloseSession sends it before
// ending the session.
func TestCloseReleaseLater(t *testing.T) {
	gate := make(chan struct{})
	n := releaseNode(t, gate)
	c := newTestClient(t, Config{Creds: &pb.Creds{}}, n)
	ctx := context.Background()
	f := createForRelease(t, c, "f")
	within(t, 5*time.Second, "CloseReleaseLater", func() {
		if err := f.CloseReleaseLater(ctx); err != nil {
			t.Error(err)
		}
	})
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := c.drainReleases(short); err == nil {
		t.Fatal("drain returned while the release was held back")
	}
	sessionClosed := make(chan error, 1)
	go func() { sessionClosed <- c.CloseSession(ctx) }()
	time.Sleep(50 * time.Millisecond)
	close(gate)
	if err := <-sessionClosed; err != nil {
		t.Fatal(err)
	}
	muts := n.mutations()
	if len(muts) != 3 || muts[1].GetRelease().GetHandle() != 42 || muts[2].GetCloseSession() == nil {
		t.Fatalf("commands %v, want create, release of handle 42, close session", opNames(muts))
	}
}

// TestReleaseDrainedByClose: Client.Close sends a queued release before it
// closes the connections.
func TestReleaseDrainedByClose(t *testing.T) {
	gate := make(chan struct{})
	n := releaseNode(t, gate)
	c := newTestClient(t, Config{Creds: &pb.Creds{}}, n)
	ctx := context.Background()
	f := createForRelease(t, c, "f")
	if err := f.CloseReleaseLater(ctx); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, func() { close(gate) })
	within(t, 5*time.Second, "Close", func() { c.Close() })
	if got := opNames(n.mutations()); len(got) != 2 || got[1] != "release" {
		t.Fatalf("commands %v, want create then release", got)
	}
	// After Close the queue is stopped: a later close releases by itself
	// (and fails, the connections being closed) instead of queueing.
	if c.releaseLater(pendingRelease{ctx: ctx, ino: 7, handle: 43}) {
		t.Fatal("a release was queued after Close")
	}
}

// TestReleaseFailureLogged: a release the cluster refuses is logged and
// counted, not dropped silently.
func TestReleaseFailureLogged(t *testing.T) {
	n := startNode(t, "n1", "east")
	n.set(func(n *fakeNode) {
		n.result = func(cmd *pb.Command) *pb.Result {
			switch {
			case cmd.GetMknod() != nil:
				return &pb.Result{Attr: &pb.Attr{Ino: 7, Mode: ModeRegular | 0o644, Nlink: 1}, Handle: 42}
			case cmd.GetRelease() != nil:
				return &pb.Result{Errno: pb.Errno_EBADF, Detail: "no such handle"}
			}
			return &pb.Result{}
		}
	})
	var logged bytes.Buffer
	log.SetOutput(&logged)
	defer log.SetOutput(os.Stderr)
	c := newTestClient(t, Config{Creds: &pb.Creds{}}, n)
	ctx := context.Background()
	f := createForRelease(t, c, "f")
	if err := f.CloseReleaseLater(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.drainReleases(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.releases.failed.Load(); got != 1 {
		t.Fatalf("%d failed releases counted, want 1", got)
	}
	if !strings.Contains(logged.String(), "release of handle 42 (inode 7)") {
		t.Fatalf("log %q does not name the failed release", logged.String())
	}
}

// TestReleasesBatched: closes queued while a Release command is in flight
// go out together, several handles per command, and every handle is
// released exactly once.
func TestReleasesBatched(t *testing.T) {
	gate := make(chan struct{})
	n := releaseNode(t, gate)
	next := uint64(100)
	n.set(func(n *fakeNode) {
		n.result = func(cmd *pb.Command) *pb.Result {
			if cmd.GetMknod() != nil {
				next++
				return &pb.Result{Attr: &pb.Attr{Ino: next, Mode: ModeRegular | 0o644, Nlink: 1}, Handle: next}
			}
			return &pb.Result{}
		}
	})
	c := newTestClient(t, Config{Creds: &pb.Creds{}}, n)
	ctx := context.Background()
	const files = 3 * releaseWorkers
	for i := range files {
		f := createForRelease(t, c, "f"+string(rune('a'+i)))
		if err := f.CloseReleaseLater(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(gate) // every worker is held by its first release; the rest queued meanwhile
	if err := c.drainReleases(ctx); err != nil {
		t.Fatal(err)
	}
	seen, commands := map[uint64]int{}, 0
	for _, cmd := range n.mutations() {
		if r := cmd.GetRelease(); r != nil {
			commands++
			seen[r.GetHandle()]++
			for _, h := range r.GetMore() {
				seen[h]++
			}
		}
	}
	if len(seen) != files || commands >= files {
		t.Fatalf("%d handles released by %d commands, want %d by fewer", len(seen), commands, files)
	}
	for h, k := range seen {
		if k != 1 {
			t.Fatalf("handle %d released %d times", h, k)
		}
	}
}

// createForRelease creates name in the root, open for writing.
func createForRelease(t *testing.T, c *Client, name string) *File {
	t.Helper()
	f, _, err := c.CreateAt(context.Background(), 1, name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
