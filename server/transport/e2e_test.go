package transport_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/geomds/geomds/server/replica"
	"github.com/geomds/geomds/server/replica/replicatest"
	"github.com/geomds/geomds/server/transport"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/grpc"
)

const shard = 1

// oneShard routes the transport's calls to the node's only replica.
type oneShard struct{ r *replica.Replica }

func (h *oneShard) Step(ctx context.Context, _ uint64, m *raftpb.Message) error {
	return h.r.Step(ctx, m)
}

func (h *oneShard) StepSnapshot(ctx context.Context, _ uint64, m *raftpb.Message, data io.Reader) error {
	return h.r.StepSnapshot(ctx, m, data)
}

func (h *oneShard) WriteSnapshot(_ uint64, w io.Writer) error { return h.r.WriteSnapshot(w) }
func (h *oneShard) ReportUnreachable(_, id uint64)            { h.r.ReportUnreachable(id) }
func (h *oneShard) ReportSnapshot(_, id uint64, ok bool)      { h.r.ReportSnapshot(id, ok) }

type e2eNode struct {
	r  *replica.Replica
	sm *replicatest.MemSM
}

// e2eCluster is replicas on loopback gRPC with real transports and wall-clock ticks.
type e2eCluster struct {
	t     *testing.T
	addrs map[uint64]string
	lis   map[uint64]net.Listener
	mu    sync.Mutex
	nodes map[uint64]*e2eNode
}

func newE2E(t *testing.T, ids ...uint64) *e2eCluster {
	c := &e2eCluster{t: t, addrs: map[uint64]string{}, lis: map[uint64]net.Listener{}, nodes: map[uint64]*e2eNode{}}
	for _, id := range ids { // addresses are known before any node starts
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c.lis[id], c.addrs[id] = lis, lis.Addr().String()
	}
	t.Cleanup(func() {
		for _, lis := range c.lis {
			lis.Close()
		}
	})
	return c
}

func (c *e2eCluster) start(id uint64, peers []uint64) *e2eNode {
	t := c.t
	h := &oneShard{}
	tr := transport.New(transport.Config{
		NodeID:  id,
		Resolve: func(to uint64) (string, bool) { a, ok := c.addrs[to]; return a, ok },
		Handler: h,
		Link:    func(uint64) transport.Link { return transport.Link{Delay: time.Millisecond} },
		Logger:  testLogger(),
	})
	sm := replicatest.NewMemSM()
	r, err := replica.New(replica.Config{
		Shard: shard, ID: id, Peers: peers, Log: replicatest.NewMemLog(), SM: sm, Transport: tr,
		TickInterval: 10 * time.Millisecond, ElectionTicks: 10, HeartbeatTicks: 1,
		SnapshotEntries: 10, CompactKeep: 2,
		Logger: testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.r = r
	gs := grpc.NewServer()
	tr.Register(gs)
	served := make(chan struct{})
	go func() { defer close(served); _ = gs.Serve(c.lis[id]) }()
	ctx, cancel := context.WithCancel(context.Background())
	go r.Run(ctx)
	t.Cleanup(func() {
		cancel()
		<-r.Stopped()
		tr.Close()
		gs.Stop()
		<-served
	})
	nd := &e2eNode{r: r, sm: sm}
	c.mu.Lock()
	c.nodes[id] = nd
	c.mu.Unlock()
	return nd
}

func (c *e2eCluster) leader() *e2eNode {
	var ld *e2eNode
	waitFor(c.t, "a leader", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, nd := range c.nodes {
			if nd.r.Status().Role == "leader" {
				ld = nd
				return true
			}
		}
		return false
	})
	return ld
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// propose retries through elections and unknown outcomes, as a client
// would; MemSM has no exactly-once table, so a retry may apply twice (the
// check below tolerates adjacent duplicates).
func propose(t *testing.T, nd *e2eNode, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		res, _, err := nd.r.Propose(ctx, []byte(payload))
		if err == nil {
			if res != "ok:"+payload {
				t.Fatalf("result %v", res)
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("propose %q: %v", payload, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestThreeReplicasOverGRPC(t *testing.T) {
	c := newE2E(t, 1, 2, 3)
	peers := []uint64{1, 2, 3}
	nodes := []*e2eNode{c.start(1, peers), c.start(2, peers)}
	c.leader() // two of three is a quorum
	var want []string
	for i := range 30 {
		p := fmt.Sprintf("v%d", i)
		propose(t, nodes[i%2], p)
		want = append(want, p)
	}
	// The third node starts after the log was compacted: it catches up by a
	// snapshot streamed over the transport, then by appends.
	third := c.start(3, peers)
	defer func() {
		if t.Failed() {
			c.dump()
		}
	}()
	propose(t, third, "from-third")
	want = append(want, "from-third")
	waitFor(t, "all replicas converge", func() bool {
		for _, nd := range append(nodes, third) {
			if !slices.Equal(slices.Compact(nd.sm.Payloads()), want) {
				return false
			}
		}
		return true
	})
	if third.sm.Restores() == 0 {
		t.Fatal("third node caught up without a snapshot")
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("E2E_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// dump logs every node's view, for a failed run.
func (c *e2eCluster) dump() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, nd := range c.nodes {
		p := nd.sm.Payloads()
		c.t.Logf("node %d: %+v; %d payloads, last %v", id, nd.r.Status(), len(p), p[max(0, len(p)-3):])
	}
}
