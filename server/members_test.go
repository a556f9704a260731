package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
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
	l := listen(t)
	addr := l.Addr().String()
	if _, err := cl.AddMember(ctx, "n4", "south", addr, true); err != nil {
		t.Fatal(err)
	}
	// A learner more than 1,000 entries behind (this one has not started)
	// is not promoted: it would weaken the quorum until it caught up.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for i := range 70 {
				if _, err := cl.Mkdir(ctx, fmt.Sprintf("/before/w%d-%d", w, i), 0o755); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitFor(t, ctx, "promote of the lagging learner refused", func() error {
		if _, err := cl.PromoteMember(ctx, "n4"); client.ErrnoOf(err) != pb.Errno_EBUSY {
			return fmt.Errorf("promote of a learner 1,100 entries behind: %v, want EBUSY", err)
		}
		return nil
	})
	joinNode(t, c, "n4", "south", l)
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
	if err != nil || len(entries) != 50+16*70 {
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
	// Retries of calls already applied succeed and change nothing; an add
	// that disagrees with the member is refused.
	if _, err := cl.PromoteMember(ctx, "n4"); err != nil {
		t.Fatalf("promote of a voter (a retry): %v", err)
	}
	if m, err := cl.AddMember(ctx, "n4", "south", addr, false); err != nil || m.GetLearner() {
		t.Fatalf("add of n4 as it is (a retry): %v, %v", m, err)
	}
	if _, err := cl.AddMember(ctx, "n4", "south", addr, true); !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("add of voter n4 as a learner = %v, want EEXIST", err)
	}
	if _, err := cl.AddMember(ctx, "n4", "west", addr, false); !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("add of n4 at another site = %v, want EEXIST", err)
	}
	if after, err := cl.MemberList(ctx); err != nil || len(after) != len(ms) {
		t.Fatalf("members after the retries: %d, %v; want %d", len(after), err, len(ms))
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

// TestMembershipUnderLoad changes the membership while four writers create
// files back to back and a reader stats the newest of them (STRONG): a
// learner joins, catches up and is promoted; an original follower is
// removed; leadership moves to the new member and the former leader is
// removed. No call may fail (the clients retry what is retryable), every
// acknowledged create is on both remaining replicas, and the member list
// is the new member and the one original left, both voters.
func TestMembershipUnderLoad(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	l := listen(t)
	eps := append(c.Endpoints(), l.Addr().String()) // the new member's too: it will outlive two of the others
	adm := endpointsClient(t, eps, "east", pb.Consistency_STRONG, 30*time.Second)
	if err := adm.MkdirAll(ctx, "/load", 0o755); err != nil {
		t.Fatal(err)
	}
	var ws []*ackWriter
	for k, site := range []string{"east", "west", "north", "south"} {
		ws = append(ws, startWriter(ctx, endpointsClient(t, eps, site, pb.Consistency_STRONG, 30*time.Second), fmt.Sprintf("/load/w%d-", k)))
	}
	rd := startReader(ctx, endpointsClient(t, eps, "south", pb.Consistency_STRONG, 30*time.Second), ws)
	for _, w := range ws {
		waitAcked(t, w, phaseBefore, 5)
	}

	start := time.Now()
	learnerCatchesUp(t, ctx, c, adm, ws[0], l)
	promote(t, ctx, adm, "n4")
	lead := c.WaitLeader()
	follower := (lead + 1) % 3
	removeNode(t, ctx, c, adm, follower)
	if err := adm.TransferLeader(ctx, 1, "n4"); err != nil {
		t.Fatalf("transfer to n4: %v", err)
	}
	removeNode(t, ctx, c, adm, lead)
	changes := time.Since(start)
	const afterChanges = phaseBefore + 1 // calls started after the last change
	for _, w := range ws {
		w.phase.Store(afterChanges)
	}
	for _, w := range ws {
		waitAcked(t, w, afterChanges, 10)
	}

	var acked []string
	for _, w := range ws {
		w.stopClean(t)
		acked = append(acked, w.paths()...)
	}
	rd.stopClean(t)
	left := 3 - lead - follower
	expectMembers(t, ctx, adm, c.Peers()[left].Name, "n4")
	expectListed(t, ctx, nodeClient(t, c, left, "east", pb.Consistency_STALE, 5*time.Second), c.Peers()[left].Name, "/load", acked, nil)
	expectListed(t, ctx, endpointsClient(t, eps[3:], "south", pb.Consistency_STALE, 5*time.Second), "n4", "/load", acked, nil)
	expectConverged(t, ctx, adm, 2)
	t.Logf("%d creates acknowledged, %d STRONG stats; the membership changes took %v", len(acked), rd.reads.Load(), changes.Round(time.Millisecond))
}

// learnerCatchesUp adds n4 as a learner at site south, starts it, and waits
// until it serves, itself, a create acknowledged after it started.
func learnerCatchesUp(t *testing.T, ctx context.Context, c *servertest.Cluster, adm *client.Client, w *ackWriter, l net.Listener) {
	t.Helper()
	if _, err := adm.AddMember(ctx, "n4", "south", l.Addr().String(), true); err != nil {
		t.Fatal(err)
	}
	joinNode(t, c, "n4", "south", l)
	n := len(w.acks())
	waitAcked(t, w, phaseBefore, n+1)
	mark := w.acks()[n].path
	south := endpointsClient(t, []string{l.Addr().String()}, "south", pb.Consistency_STALE, 5*time.Second)
	waitFor(t, ctx, "the learner serves "+mark, func() error {
		if _, err := south.Stat(ctx, mark); err != nil {
			return err
		}
		if m := south.LastMeta(); m.GetNode() != "n4" {
			return fmt.Errorf("served by %q", m.GetNode())
		}
		return nil
	})
}

// promote promotes a learner, asking again while it is refused (the
// learner still catching up). A request whose reply was lost may have
// done it: the member list says when it is done.
func promote(t *testing.T, ctx context.Context, adm *client.Client, name string) {
	t.Helper()
	waitFor(t, ctx, "promote "+name, func() error {
		if m, err := member(ctx, adm, name); err != nil || (m != nil && !m.Learner) {
			return err
		}
		_, err := adm.PromoteMember(ctx, name)
		return fmt.Errorf("promote requested (%v); not a voter yet", err)
	})
}

// removeNode removes node i from the membership, then stops it, as an
// operator would. As for promote, the member list says when it is done.
func removeNode(t *testing.T, ctx context.Context, c *servertest.Cluster, adm *client.Client, i int) {
	t.Helper()
	name := c.Peers()[i].Name
	waitFor(t, ctx, "remove "+name, func() error {
		if m, err := member(ctx, adm, name); err != nil || m == nil {
			return err
		}
		_, err := adm.RemoveMember(ctx, name)
		return fmt.Errorf("remove requested (%v); still a member", err)
	})
	c.StopNode(i)
}

// member returns the named member as the member list shows it, nil if
// there is none.
func member(ctx context.Context, cl *client.Client, name string) (*pb.Member, error) {
	ms, err := cl.MemberList(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.Name == name {
			return m, nil
		}
	}
	return nil, nil
}

// expectMembers waits until the member list is exactly names, all voters.
func expectMembers(t *testing.T, ctx context.Context, cl *client.Client, names ...string) {
	t.Helper()
	waitFor(t, ctx, fmt.Sprintf("members %v, all voters", names), func() error {
		ms, err := cl.MemberList(ctx)
		if err != nil {
			return err
		}
		var got []string
		for _, m := range ms {
			if m.Learner {
				return fmt.Errorf("%s is a learner", m.Name)
			}
			got = append(got, m.Name)
		}
		if !slices.Equal(got, names) {
			return fmt.Errorf("members %v", got)
		}
		return nil
	})
}

// reader stats, STRONG, the newest create any writer has had acknowledged
// when the stat starts: each must succeed (linearizable reads see every
// write acknowledged before them).
type reader struct {
	reads  atomic.Int64
	mu     sync.Mutex
	errs   []error // guarded by mu
	cancel context.CancelFunc
	done   chan struct{}
}

func startReader(ctx context.Context, cl *client.Client, ws []*ackWriter) *reader {
	ctx, cancel := context.WithCancel(ctx)
	r := &reader{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for i := 0; ctx.Err() == nil; i++ {
			acks := ws[i%len(ws)].acks()
			if len(acks) == 0 {
				time.Sleep(10 * time.Millisecond) // nothing to read yet
				continue
			}
			p := acks[len(acks)-1].path
			if _, err := cl.Stat(ctx, p); err != nil && ctx.Err() == nil {
				r.mu.Lock()
				r.errs = append(r.errs, fmt.Errorf("stat %s: %w", p, err))
				r.mu.Unlock()
			}
			r.reads.Add(1)
		}
	}()
	return r
}

func (r *reader) stopClean(t *testing.T) {
	t.Helper()
	r.cancel()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) > 0 {
		t.Fatalf("%d of %d STRONG stats failed; first: %v", len(r.errs), r.reads.Load(), r.errs[0])
	}
	if r.reads.Load() == 0 {
		t.Fatal("the reader read nothing")
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// joinNode starts a node that `members add` admitted, as `geomds serve
// --join` does, on the cluster's emulated WAN; it stops when the test ends.
func joinNode(t *testing.T, c *servertest.Cluster, name, site string, l net.Listener) *server.Node {
	t.Helper()
	n, err := server.Start(context.Background(), server.Config{
		Name: name, Site: site, DataDir: filepath.Join(c.Dir(), name), Listen: l.Addr().String(), Listener: l,
		InitialCluster: c.Peers(), Join: true, WAN: c.WAN(), Logger: quiet(),
		TickInterval: 10 * time.Millisecond, HeartbeatTicks: 2, ElectionTicks: 30,
	})
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(n.Stop)
	return n
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
