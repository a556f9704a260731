package replica_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/geomds/geomds/server/replica"
	"github.com/geomds/geomds/server/replica/replicatest"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

const testShard = 7

// network delivers messages between replicas in memory, asynchronously and
// in order per destination, with cuts and holds for partitions.
type network struct {
	mu     sync.Mutex
	nodes  map[uint64]*node           // guarded by mu
	queues map[uint64]*queue          // guarded by mu
	cut    map[[2]uint64]bool         // guarded by mu; from→to dropped
	hold   func(*raftpb.Message) bool // guarded by mu; matching messages are parked
	held   []*raftpb.Message          // guarded by mu
	counts map[raftpb.MessageType]int // guarded by mu; messages sent
	sent   atomic.Uint64              // messages ever sent (quiescence check)
	busy   atomic.Int64               // messages queued or being delivered
	ctx    context.Context
	wg     sync.WaitGroup
}

type queue struct {
	mu   sync.Mutex
	cond *sync.Cond
	msgs []*raftpb.Message
	done bool
}

func newNetwork(ctx context.Context) *network {
	return &network{
		nodes: map[uint64]*node{}, queues: map[uint64]*queue{}, cut: map[[2]uint64]bool{},
		counts: map[raftpb.MessageType]int{}, ctx: ctx,
	}
}

// endpoint is one node's replica.Transport.
type endpoint struct {
	n    *network
	from uint64
}

func (e endpoint) Send(shard uint64, msgs []*raftpb.Message) {
	for _, m := range msgs {
		e.n.send(proto.Clone(m).(*raftpb.Message))
	}
}

func (n *network) send(m *raftpb.Message) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.counts[m.GetType()]++
	n.sent.Add(1)
	if n.cut[[2]uint64{m.GetFrom(), m.GetTo()}] {
		return
	}
	if n.hold != nil && n.hold(m) {
		n.held = append(n.held, m)
		return
	}
	n.enqueueLocked(m)
}

func (n *network) enqueueLocked(m *raftpb.Message) {
	q, ok := n.queues[m.GetTo()]
	if !ok {
		q = &queue{}
		q.cond = sync.NewCond(&q.mu)
		n.queues[m.GetTo()] = q
		n.wg.Add(1)
		go n.deliverLoop(m.GetTo(), q)
	}
	n.busy.Add(1)
	q.mu.Lock()
	q.msgs = append(q.msgs, m)
	q.mu.Unlock()
	q.cond.Signal()
}

func (n *network) deliverLoop(to uint64, q *queue) {
	defer n.wg.Done()
	for {
		q.mu.Lock()
		for len(q.msgs) == 0 && !q.done {
			q.cond.Wait()
		}
		if q.done {
			q.mu.Unlock()
			return
		}
		m := q.msgs[0]
		q.msgs = q.msgs[1:]
		q.mu.Unlock()
		n.deliver(m)
		n.busy.Add(-1)
	}
}

func (n *network) deliver(m *raftpb.Message) {
	n.mu.Lock()
	dst, src := n.nodes[m.GetTo()], n.nodes[m.GetFrom()]
	dropped := n.cut[[2]uint64{m.GetFrom(), m.GetTo()}]
	n.mu.Unlock()
	if dst == nil || dropped {
		return
	}
	if m.GetType() != raftpb.MsgSnap {
		_ = dst.r.Step(n.ctx, m)
		return
	}
	var buf bytes.Buffer
	ok := src != nil && src.r.WriteSnapshot(&buf) == nil
	if ok {
		ok = dst.r.StepSnapshot(n.ctx, m, &buf) == nil
	}
	if src != nil {
		src.r.ReportSnapshot(m.GetTo(), ok)
	}
}

// partition cuts id off from every other node (both directions); heal undoes it.
func (n *network) partition(id uint64, ids []uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, o := range ids {
		if o != id {
			n.cut[[2]uint64{id, o}], n.cut[[2]uint64{o, id}] = true, true
		}
	}
}

// cutInbound drops every message to id (it can still send).
func (n *network) cutInbound(id uint64, ids []uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, o := range ids {
		if o != id {
			n.cut[[2]uint64{o, id}] = true
		}
	}
}

func (n *network) heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.cut)
}

func (n *network) setHold(f func(*raftpb.Message) bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hold = f
}

// release stops holding and sends what was held.
func (n *network) release() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hold = nil
	for _, m := range n.held {
		n.enqueueLocked(m)
	}
	n.held = nil
}

func (n *network) count(t raftpb.MessageType) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.counts[t]
}

func (n *network) close() {
	n.mu.Lock()
	qs := n.queues
	n.mu.Unlock()
	for _, q := range qs {
		q.mu.Lock()
		q.done = true
		q.mu.Unlock()
		q.cond.Broadcast()
	}
	n.wg.Wait()
}

// node is one replica with its stores and Run goroutine.
type node struct {
	id     uint64
	r      *replica.Replica
	log    *replicatest.MemLog
	sm     *replicatest.MemSM
	cancel context.CancelFunc
	done   chan error // receives Run's result
}

// cluster is a set of nodes on one network, driven by manual ticks.
type cluster struct {
	t     *testing.T
	ctx   context.Context
	net   *network
	tweak func(*replica.Config)
}

func newCluster(t *testing.T, tweak func(*replica.Config)) *cluster {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &cluster{t: t, ctx: ctx, net: newNetwork(ctx), tweak: tweak}
	t.Cleanup(func() {
		for _, nd := range c.nodes() {
			c.stop(nd.id)
		}
		cancel()
		c.net.close()
	})
	return c
}

// start runs a replica for id over the given stores (fresh when nil).
func (c *cluster) start(id uint64, peers []uint64, log *replicatest.MemLog, sm *replicatest.MemSM) *node {
	c.t.Helper()
	if log == nil {
		log, sm = replicatest.NewMemLog(), replicatest.NewMemSM()
	}
	cfg := replica.Config{
		Shard: testShard, ID: id, Peers: peers, Log: log, SM: sm,
		Transport: endpoint{c.net, id},
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if c.tweak != nil {
		c.tweak(&cfg)
	}
	r, err := replica.New(cfg)
	if err != nil {
		c.t.Fatalf("New(%d): %v", id, err)
	}
	ctx, cancel := context.WithCancel(c.ctx)
	nd := &node{id: id, r: r, log: log, sm: sm, cancel: cancel, done: make(chan error, 1)}
	go func() { nd.done <- r.Run(ctx) }()
	c.net.mu.Lock()
	c.net.nodes[id] = nd
	c.net.mu.Unlock()
	return nd
}

// stop ends id's Run and removes it from the network; its stores remain.
func (c *cluster) stop(id uint64) *node {
	c.net.mu.Lock()
	nd := c.net.nodes[id]
	delete(c.net.nodes, id)
	c.net.mu.Unlock()
	if nd != nil {
		nd.cancel()
		<-nd.r.Stopped()
	}
	return nd
}

func (c *cluster) node(id uint64) *node {
	c.net.mu.Lock()
	defer c.net.mu.Unlock()
	return c.net.nodes[id]
}

func (c *cluster) nodes() []*node {
	c.net.mu.Lock()
	defer c.net.mu.Unlock()
	var out []*node
	for _, nd := range c.net.nodes {
		out = append(out, nd)
	}
	return out
}

// settle waits until no message is in flight and every replica is idle, so
// the next tick sees the consequences of the last one (bounded: a loop that
// never settles just lets the test go on).
func (c *cluster) settle() {
	for range 20000 {
		sent := c.net.sent.Load()
		if c.net.busy.Load() == 0 && c.allIdle() && c.net.busy.Load() == 0 && c.net.sent.Load() == sent {
			return
		}
		runtime.Gosched()
	}
}

func (c *cluster) allIdle() bool {
	for _, nd := range c.nodes() {
		if !replica.Idle(nd.r) {
			return false
		}
	}
	return true
}

// tickUntil ticks every node, letting each tick settle, until cond holds.
// The bound is wall-clock (goroutines outside the cluster, such as a
// proposer, may need time to be scheduled), generous for slow machines.
func (c *cluster) tickUntil(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		c.settle()
		if cond() {
			return
		}
		runtime.Gosched()
		for _, nd := range c.nodes() {
			nd.r.Tick()
		}
	}
	c.t.Fatalf("timed out waiting for %s", what)
}

// waitFor polls cond without ticking (time stands still for raft).
func (c *cluster) waitFor(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// leader waits for a leader every running node agrees on.
func (c *cluster) leader() *node {
	c.t.Helper()
	var lead uint64
	c.tickUntil("a leader", func() bool {
		lead = 0
		for _, nd := range c.nodes() {
			st := nd.r.Status()
			if st.Leader == 0 || (lead != 0 && st.Leader != lead) {
				return false
			}
			lead = st.Leader
		}
		ld := c.node(lead)
		return ld != nil && ld.r.Status().Role == "leader"
	})
	return c.node(lead)
}

// async runs f in a goroutine; the returned func reports whether it finished.
func async(f func()) func() bool {
	var done atomic.Bool
	go func() {
		defer done.Store(true)
		f()
	}()
	return done.Load
}

// bootstrap starts nodes 1..n as a new group.
func (c *cluster) bootstrap(n int) {
	peers := make([]uint64, n)
	for i := range peers {
		peers[i] = uint64(i + 1)
	}
	for _, id := range peers {
		c.start(id, peers, nil, nil)
	}
}
