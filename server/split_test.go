package server_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/servertest"
)

// The split tests cut sites apart with the shared emulated WAN
// (servertest.Cluster.WAN): every node keeps running, only the network
// between the sites is gone.

const (
	// splitRequestTimeout bounds each client call. A call that hangs for
	// want of a quorum runs into it.
	splitRequestTimeout = 30 * time.Second
	// failFast bounds a call refused in degraded mode: well short of the
	// request timeout, with room for a loaded machine (the first refusal
	// after a cut waits out the node's NoQuorumAfter, 3 s here).
	failFast = 15 * time.Second
)

// Phases of a split test; each acknowledged write records the phase in
// which its call started.
const (
	phaseBefore int32 = iota
	phaseCut          // started after Cut returned
	phaseHealed       // started after HealAll returned
)

// TestSplitMinority cuts west off from east and north while the leader is
// at east. West degrades: writes and STRONG reads fail fast with no quorum,
// STALE reads go on and say they grow older. The majority goes on writing
// and nothing of it reaches west until the heal; then west catches up on its
// own (by a state snapshot: the log was compacted past it meanwhile) and
// the three replicas end equal.
func TestSplitMinority(t *testing.T) {
	restores := newRestoreLog()
	c := servertest.Start(t, servertest.Options{RTT: wanRTT, SnapshotEntries: 50, CompactKeep: 10, Logger: slog.New(restores)})
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	east := siteClient(t, c, "east", pb.Consistency_STRONG, splitRequestTimeout)
	leadFrom(t, ctx, c, east, 0)
	if err := east.MkdirAll(ctx, "/split", 0o755); err != nil {
		t.Fatal(err)
	}
	westNode := nodeClient(t, c, 1, "west", pb.Consistency_STRONG, splitRequestTimeout)
	westAll := siteClient(t, c, "west", pb.Consistency_STRONG, splitRequestTimeout)
	stale := nodeClient(t, c, 1, "west", pb.Consistency_STALE, 5*time.Second)
	w := startWriter(ctx, siteClient(t, c, "east", pb.Consistency_STRONG, splitRequestTimeout), "/split/e")
	waitAcked(t, w, phaseBefore, 5)
	before := w.acks()[0].path
	waitFor(t, ctx, "STALE read at west sees a write made before the cut", func() error {
		_, err := stale.Stat(ctx, before)
		return err
	})

	c.WAN().Cut("west", "east")
	c.WAN().Cut("west", "north")
	w.phase.Store(phaseCut)
	expectNoQuorum(t, "write at west's node", func() error { _, err := westNode.Mkdir(ctx, "/split/w-node", 0o755); return err })
	expectNoQuorum(t, "STRONG read at west's node", func() error { _, err := westNode.Stat(ctx, before); return err })
	// A west client that knows every node gets no further: the other
	// sites refuse it (the partition), its own node has no quorum.
	expectNoQuorum(t, "write by a west client that knows every node", func() error { _, err := westAll.Mkdir(ctx, "/split/w-all", 0o755); return err })
	expectPartitioned(t, ctx, c.Endpoints()[0], "west", "east")
	expectStalenessGrows(t, ctx, stale, "n2", before)

	// The majority goes on; more entries than a snapshot interval plus the
	// entries kept behind it, so the leader's log no longer reaches west's.
	waitAcked(t, w, phaseCut, 80)
	expectNotServedBy(t, w, phaseCut, "n2")
	expectNotListed(t, ctx, stale, "n2", "/split", w.pathsIn(phaseCut))
	expectPeerDown(t, ctx, east, "n1", "n2")

	c.WAN().HealAll()
	w.phase.Store(phaseHealed)
	waitAcked(t, w, phaseHealed, 10)
	w.stopClean(t)
	expectListed(t, ctx, stale, "n2", "/split", w.paths(), []string{"/split/w-node", "/split/w-all"})
	expectConverged(t, ctx, east, 3)
	if n := restores.count("n2"); n == 0 {
		t.Fatal("west caught up without a state snapshot, though the log was compacted past it during the split")
	}
	expectPeerUp(t, ctx, east, "n1", "n2")
}

// TestSplitLeaderIsolated cuts the leader's site (east) off from both
// others. West and north elect a new leader and go on acknowledging the
// writes of a client that fails over from the old leader; the old leader
// steps down (CheckQuorum) and refuses writes and STRONG reads with no
// quorum, acknowledging none, while serving STALE reads that say how old
// they are. After the heal every replica holds every
// acknowledged write, none of the refused ones, and the same state.
func TestSplitLeaderIsolated(t *testing.T) {
	c := servertest.Start(t, servertest.Options{RTT: wanRTT})
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	east := siteClient(t, c, "east", pb.Consistency_STRONG, splitRequestTimeout)
	leadFrom(t, ctx, c, east, 0)
	if err := east.MkdirAll(ctx, "/split", 0o755); err != nil {
		t.Fatal(err)
	}
	old := nodeClient(t, c, 0, "east", pb.Consistency_STRONG, splitRequestTimeout)
	oldStale := nodeClient(t, c, 0, "east", pb.Consistency_STALE, 5*time.Second)
	// The majority's writer starts at the old leader (east) and must fail
	// over to the new one.
	w := startWriter(ctx, siteClient(t, c, "west", pb.Consistency_STRONG, splitRequestTimeout), "/split/m")
	waitAcked(t, w, phaseBefore, 5)

	c.WAN().Cut("east", "west")
	c.WAN().Cut("east", "north")
	w.phase.Store(phaseCut)
	waitFor(t, ctx, "a new leader at west or north", func() error {
		if c.Nodes[1].IsLeader() || c.Nodes[2].IsLeader() {
			return nil
		}
		return errors.New("no leader among n2, n3")
	})
	waitFor(t, ctx, "the old leader steps down", func() error {
		if c.Nodes[0].IsLeader() {
			return errors.New("n1 still leads")
		}
		return nil
	})
	var refused []string
	for i := range 3 {
		p := fmt.Sprintf("/split/iso%d", i)
		refused = append(refused, p)
		expectNoQuorum(t, "write at the old leader", func() error { _, err := old.Mkdir(ctx, p, 0o755); return err })
	}
	expectNoQuorum(t, "STRONG read at the old leader", func() error { _, err := old.Stat(ctx, "/split"); return err })
	// The deposed leader dates its state from its step-down: STALE reads
	// there go on, their stated age growing from then.
	expectStalenessGrows(t, ctx, oldStale, "n1", "/split")
	expectPartitioned(t, ctx, c.Endpoints()[1], "east", "west")
	waitAcked(t, w, phaseCut, 30)
	expectNotServedBy(t, w, phaseCut, "n1")

	c.WAN().HealAll()
	w.phase.Store(phaseHealed)
	waitAcked(t, w, phaseHealed, 10)
	w.stopClean(t)
	expectListed(t, ctx, oldStale, "n1", "/split", w.paths(), refused)
	expectConverged(t, ctx, east, 3)
}

// leadFrom moves shard 1's leadership to node i and waits until it leads.
func leadFrom(t *testing.T, ctx context.Context, c *servertest.Cluster, cl *client.Client, i int) {
	t.Helper()
	if err := cl.TransferLeader(ctx, 1, c.Peers()[i].Name); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "leader at "+c.Peers()[i].Name, func() error {
		if l := c.Leader(); l != i {
			return fmt.Errorf("leader is node %d", l)
		}
		return nil
	})
}

// expectNoQuorum runs a call that must be refused for want of a quorum:
// EAGAIN "no quorum", well before the request timeout (not a hang).
func expectNoQuorum(t *testing.T, what string, call func() error) {
	t.Helper()
	start := time.Now()
	err := call()
	took := time.Since(start)
	if client.ErrnoOf(err) != pb.Errno_EAGAIN || !strings.Contains(err.Error(), "no quorum") {
		t.Fatalf("%s: %v after %v, want EAGAIN no quorum", what, err, took)
	}
	if took > failFast {
		t.Fatalf("%s: refused after %v, want within %v (request timeout %v)", what, took, failFast, splitRequestTimeout)
	}
	t.Logf("%s: refused after %v", what, took.Round(time.Millisecond))
}

// expectPartitioned checks that the node at addr refuses a call declaring
// site from (a health check, as the nodes' own probes send) because of the
// emulated partition.
func expectPartitioned(t *testing.T, ctx context.Context, addr, from, nodeSite string) {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx = metadata.AppendToOutgoingContext(ctx, "geomds-site", from)
	_, err = healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	want := fmt.Sprintf("emulated partition between sites %s and %s", from, nodeSite)
	if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), want) {
		t.Fatalf("call from %s to the node at %s: %v, want Unavailable %q", from, nodeSite, err, want)
	}
}

// expectStalenessGrows: STALE reads at the cut-off node go on, served by
// it, each saying its answer may be older than the last one said.
func expectStalenessGrows(t *testing.T, ctx context.Context, stale *client.Client, node, path string) {
	t.Helper()
	first := staleRead(t, ctx, stale, node, path)
	waitFor(t, ctx, "STALE reads at "+node+" say they grow older", func() error {
		if s := staleRead(t, ctx, stale, node, path); s <= first {
			return fmt.Errorf("staleness %v, first read %v", s, first)
		}
		return nil
	})
}

// staleRead stats path, which must succeed as a STALE read by node, and
// returns the staleness the reply states.
func staleRead(t *testing.T, ctx context.Context, stale *client.Client, node, path string) time.Duration {
	t.Helper()
	if _, err := stale.Stat(ctx, path); err != nil {
		t.Fatalf("STALE read of %s at %s during the split: %v", path, node, err)
	}
	m := stale.LastMeta()
	if m.GetNode() != node || m.GetConsistency() != pb.Consistency_STALE {
		t.Fatalf("STALE read served by %s as %v, want %s as STALE", m.GetNode(), m.GetConsistency(), node)
	}
	return time.Duration(m.GetStalenessNs())
}

// listPaths returns the paths in dir as node lists them (cl is bound to it).
func listPaths(ctx context.Context, cl *client.Client, node, dir string) (map[string]bool, error) {
	entries, err := cl.ReadDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	if m := cl.LastMeta(); m.GetNode() != node {
		return nil, fmt.Errorf("listing served by %q, want %s", m.GetNode(), node)
	}
	names := make(map[string]bool, len(entries))
	for _, e := range entries {
		names[dir+"/"+e.GetName()] = true
	}
	return names, nil
}

// expectNotServedBy: no call started in phase was acknowledged by node.
func expectNotServedBy(t *testing.T, w *ackWriter, phase int32, node string) {
	t.Helper()
	for _, a := range w.acks() {
		if a.phase == phase && a.node == node {
			t.Fatalf("%s, started after the cut, was acknowledged by the cut-off node %s", a.path, node)
		}
	}
}

// expectNotListed: none of paths has reached node (it is cut off).
func expectNotListed(t *testing.T, ctx context.Context, cl *client.Client, node, dir string, paths []string) {
	t.Helper()
	names, err := listPaths(ctx, cl, node, dir)
	if err != nil {
		t.Fatalf("listing %s at %s: %v", dir, node, err)
	}
	for _, p := range paths {
		if names[p] {
			t.Fatalf("%s, written after the cut, reached the cut-off node %s", p, node)
		}
	}
}

// expectListed waits until node lists every path of want, then checks it
// lists none of never.
func expectListed(t *testing.T, ctx context.Context, cl *client.Client, node, dir string, want, never []string) {
	t.Helper()
	var names map[string]bool
	waitFor(t, ctx, fmt.Sprintf("%s lists all %d acknowledged writes", node, len(want)), func() error {
		var err error
		if names, err = listPaths(ctx, cl, node, dir); err != nil {
			return err
		}
		for _, p := range want {
			if !names[p] {
				return fmt.Errorf("%s missing", p)
			}
		}
		return nil
	})
	for _, p := range never {
		if names[p] {
			t.Fatalf("%s was refused (no quorum) but %s holds it", p, node)
		}
	}
}

// expectConverged waits until fsck finds all n members at one applied
// index with equal digests; a violation or a mismatch fails at once.
func expectConverged(t *testing.T, ctx context.Context, cl *client.Client, n int) {
	t.Helper()
	waitFor(t, ctx, "replicas converge", func() error {
		rep, err := cl.Fsck(ctx)
		if err != nil {
			return err
		}
		for _, nd := range rep.Nodes {
			if len(nd.Violations) > 0 {
				t.Fatalf("fsck: %s: %v", nd.Name, nd.Violations)
			}
		}
		if len(rep.Mismatches) > 0 {
			t.Fatalf("fsck: %v", rep.Mismatches)
		}
		if len(rep.Nodes) != n {
			return fmt.Errorf("fsck checked %d members, want %d", len(rep.Nodes), n)
		}
		for _, nd := range rep.Nodes {
			if nd.Err != nil || nd.Applied != rep.Compared {
				return fmt.Errorf("%s at index %d (compared at %d): %v", nd.Name, nd.Applied, rep.Compared, nd.Err)
			}
		}
		return nil
	})
}

// expectPeerDown waits until status (the leader's view) shows peer
// unhealthy and node's probe no longer measures a round trip to it.
func expectPeerDown(t *testing.T, ctx context.Context, cl *client.Client, node, peer string) {
	t.Helper()
	expectPeer(t, ctx, cl, node, peer, false, fmt.Sprintf("status shows %s cut off from %s", peer, node))
}

// expectPeerUp waits until status shows peer healthy and measured again.
func expectPeerUp(t *testing.T, ctx context.Context, cl *client.Client, node, peer string) {
	t.Helper()
	expectPeer(t, ctx, cl, node, peer, true, fmt.Sprintf("status shows %s back with %s", peer, node))
}

// expectPeer waits until status shows peer healthy and measured by node's
// probe (up), or neither.
func expectPeer(t *testing.T, ctx context.Context, cl *client.Client, node, peer string, up bool, what string) {
	t.Helper()
	waitFor(t, ctx, what, func() error {
		healthy, measured, err := peerSeen(ctx, cl, node, peer)
		if err != nil {
			return err
		}
		if healthy != up || measured != up {
			return fmt.Errorf("%s healthy %v, %s's probe measures it %v", peer, healthy, node, measured)
		}
		return nil
	})
}

func peerSeen(ctx context.Context, cl *client.Client, node, peer string) (healthy, measured bool, err error) {
	st, err := cl.Status(ctx, false)
	if err != nil {
		return false, false, err
	}
	for _, n := range st.Nodes {
		switch n.Name {
		case peer:
			healthy = n.Healthy
		case node:
			_, measured = n.PeerRttNs[peer]
		}
	}
	return healthy, measured, nil
}

// ackWriter creates files back to back through its own client (no other
// caller, so the client's LastMeta is its last call's), recording every
// acknowledged path, with the phase its call started in and the node that
// acknowledged it, and every error.
type ackWriter struct {
	cl     *client.Client
	prefix string
	phase  atomic.Int32 // set by the test as it cuts and heals

	mu    sync.Mutex
	acked []ack   // guarded by mu
	errs  []error // guarded by mu

	cancel context.CancelFunc
	done   chan struct{}
}

type ack struct {
	path  string
	phase int32
	node  string // the node the client called
}

func startWriter(ctx context.Context, cl *client.Client, prefix string) *ackWriter {
	ctx, cancel := context.WithCancel(ctx)
	w := &ackWriter{cl: cl, prefix: prefix, cancel: cancel, done: make(chan struct{})}
	go w.run(ctx)
	return w
}

func (w *ackWriter) run(ctx context.Context) {
	defer close(w.done)
	for i := 0; ctx.Err() == nil; i++ {
		p := fmt.Sprintf("%s%d", w.prefix, i)
		ph := w.phase.Load()
		_, err := w.cl.Create(ctx, p, 0o644, true)
		w.mu.Lock()
		switch {
		case err == nil:
			w.acked = append(w.acked, ack{p, ph, w.cl.LastMeta().GetNode()})
		case ctx.Err() == nil: // not cut short by stop
			w.errs = append(w.errs, fmt.Errorf("create %s: %w", p, err))
		}
		w.mu.Unlock()
	}
}

func (w *ackWriter) acks() []ack {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]ack(nil), w.acked...)
}

// paths lists every acknowledged path.
func (w *ackWriter) paths() []string {
	var out []string
	for _, a := range w.acks() {
		out = append(out, a.path)
	}
	return out
}

// pathsIn lists the acknowledged paths whose calls started in phase.
func (w *ackWriter) pathsIn(phase int32) []string {
	var out []string
	for _, a := range w.acks() {
		if a.phase == phase {
			out = append(out, a.path)
		}
	}
	return out
}

func (w *ackWriter) errors() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]error(nil), w.errs...)
}

// stopClean stops the writer and fails the test if any call failed: the
// client retries every retryable condition, so none may show.
func (w *ackWriter) stopClean(t *testing.T) {
	t.Helper()
	w.cancel()
	<-w.done
	if errs := w.errors(); len(errs) > 0 {
		t.Fatalf("%d of the writer's calls failed (%d acknowledged); first: %v", len(errs), len(w.acks()), errs[0])
	}
}

// waitAcked waits until n calls started in phase were acknowledged; a
// failed call ends the wait at once.
func waitAcked(t *testing.T, w *ackWriter, phase int32, n int) {
	t.Helper()
	waitFor(t, context.Background(), fmt.Sprintf("%d writes acknowledged in phase %d", n, phase), func() error {
		if errs := w.errors(); len(errs) > 0 {
			t.Fatalf("writer: %v", errs[0])
		}
		if got := len(w.pathsIn(phase)); got < n {
			return fmt.Errorf("%d acknowledged", got)
		}
		return nil
	})
}

// restoreLog is a slog.Handler that counts, per node, the state snapshots
// a node restored from its leader (the node logs each one).
type restoreLog struct {
	mu   *sync.Mutex
	n    map[string]int // guarded by mu
	node string         // from the logger's "node" attribute
}

func newRestoreLog() *restoreLog { return &restoreLog{mu: &sync.Mutex{}, n: map[string]int{}} }

func (h *restoreLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *restoreLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "state snapshot restored" {
		h.mu.Lock()
		h.n[h.node]++
		h.mu.Unlock()
	}
	return nil
}

func (h *restoreLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := *h
	for _, a := range attrs {
		if a.Key == "node" {
			out.node = a.Value.String()
		}
	}
	return &out
}

func (h *restoreLog) WithGroup(string) slog.Handler { return h }

func (h *restoreLog) count(node string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[node]
}
