package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing/synctest"

	"github.com/anishathalye/porcupine"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// world is one simulated cluster, its network, clients and fault schedule.
// Only the simulation goroutine touches it (replica goroutines report
// through node.Send and the recorder, which are locked).
type world struct {
	cfg simConfig
	rng *rand.Rand
	now int64 // simulated time; tickEvery units make one Raft tick

	nodes   []*node // by ID: nodes[i].id == i+1
	net     *network
	rec     *recorder
	clients []*client
	faults  faultState
	probe   probe

	history []porcupine.Operation
	clock   int64    // logical time of history events
	pending []func() // inputs found while collecting, run one at a time by settle

	trace trace
	stats stats
	err   error // the first failure; the run stops at it
}

func newWorld(cfg simConfig) *world {
	w := &world{
		cfg: cfg,
		rng: rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15)),
		net: newNetwork(cfg.net),
		rec: newRecorder(),
	}
	w.trace.init(max(300, *flagTail))
	w.probe = probe{start: -1, done: -1}
	return w
}

// pct is true with probability p percent.
func (w *world) pct(p int) bool { return p > 0 && w.rng.IntN(100) < p }

func (w *world) fail(err error) {
	if w.err == nil && err != nil {
		w.err = fmt.Errorf("t=%d: %w", w.now, err)
	}
}

func (w *world) node(id nodeID) *node {
	if id == 0 || int(id) > len(w.nodes) {
		return nil
	}
	return w.nodes[id-1]
}

func (w *world) addNode(initial bool) *node {
	n := &node{id: nodeID(len(w.nodes) + 1), fs: newFS(), initial: initial}
	w.nodes = append(w.nodes, n)
	return n
}

// upNodes lists the running nodes in ID order.
func (w *world) upNodes() []*node {
	var out []*node
	for _, n := range w.nodes {
		if n.up {
			out = append(out, n)
		}
	}
	return out
}

// settle lets the bubble run until every goroutine is blocked, collects
// what the nodes sent, and handles the inputs that produced, one at a time.
func (w *world) settle() {
	for {
		synctest.Wait()
		w.collect()
		if len(w.pending) == 0 {
			return
		}
		next := w.pending[0]
		w.pending = w.pending[1:]
		next()
	}
}

// collect routes the messages nodes sent and gathers completed client and
// control operations. Iteration is in ID order, so the result does not
// depend on how the goroutines were scheduled.
func (w *world) collect() {
	for _, n := range w.nodes {
		image, hard := n.takeImage()
		if image != nil {
			// The node died inside its last Ready: whatever it answered
			// since is lost, and it dies before anything else happens.
			w.loseAnswers(n)
			w.pending = append([]func(){func() { w.crashMidReady(n, image, hard) }}, w.pending...)
		}
		for _, m := range n.takeOutbox() {
			w.rec.sent(n.id, m)
			w.route(n, m)
		}
		if err := n.stopped(); err != nil {
			w.fail(err)
		}
	}
	for _, c := range w.clients {
		c.collect(w)
	}
	w.faults.collect(w)
	w.probe.collect(w)
	if v, ok := w.rec.firstViolation(); ok {
		w.fail(errors.New(v))
	}
}

// route puts a message on the network. A snapshot message carries the
// sender's current state stream, as the real transport streams it.
func (w *world) route(from *node, m *raftpb.Message) {
	to := nodeID(m.GetTo())
	var snap []byte
	if m.GetType() == raftpb.MsgSnap {
		var buf bytes.Buffer
		if err := from.rep.WriteSnapshot(&buf); err != nil {
			w.fail(fmt.Errorf("node %d: write snapshot: %w", from.id, err))
			return
		}
		snap = buf.Bytes()
		w.stats.snapsSent++
	}
	w.trace.add(w.now, evSend, uint64(from.id), uint64(to), uint64(m.GetType()), m.GetTerm())
	if w.node(to) == nil || w.net.send(w, from.id, to, m, snap) {
		w.dropped(from.id, to, m)
	}
}

// dropped tells the sender of a lost snapshot, as the transport reports a
// failed stream, so raft stops waiting for it.
func (w *world) dropped(from, to nodeID, m *raftpb.Message) {
	if m.GetType() != raftpb.MsgSnap {
		return
	}
	w.reportSnapshot(from, to, false)
}

func (w *world) reportSnapshot(from, to nodeID, ok bool) {
	n := w.node(from)
	if n == nil || !n.up {
		return
	}
	inc := n.incarnation
	w.pending = append(w.pending, func() {
		if n.up && n.incarnation == inc {
			n.rep.ReportSnapshot(uint64(to), ok)
		}
	})
}

// deliver hands one message to its receiver and lets it settle.
func (w *world) deliver(f *flight) {
	to := w.node(f.to)
	switch {
	case to == nil || !to.up || w.net.cut(link{f.from, f.to}):
		w.dropped(f.from, f.to, f.msg)
		w.settle()
		return
	case to.pauseTill > w.now:
		w.net.delayUntil(f, to.pauseTill)
		return
	}
	m := proto.Clone(f.msg).(*raftpb.Message)
	w.trace.add(w.now, evDeliver, uint64(f.from), uint64(f.to), uint64(m.GetType()), m.GetTerm())
	if m.GetType() != raftpb.MsgSnap {
		_ = to.rep.Step(context.Background(), m) // ErrStopped: a fail-stop, collect reports it
		w.settle()
		return
	}
	err := to.rep.StepSnapshot(context.Background(), m, bytes.NewReader(f.snap))
	w.settle()
	w.reportSnapshot(f.from, f.to, err == nil)
	w.settle()
}

// tick advances every running node's Raft clock by one tick.
func (w *world) tick() {
	for _, n := range w.nodes {
		if n.up && n.pauseTill <= w.now {
			n.rep.Tick()
			w.settle()
		}
	}
}

// checkEvery time units, every running node's state is checked.
const checkEvery = 500

// step runs one unit of simulated time.
func (w *world) step() {
	for _, c := range w.clients {
		if c.early && c.nextAt <= w.now {
			c.early = false
			c.act(w)
		}
	}
	for f := w.net.due(w.now); f != nil && w.err == nil; f = w.net.due(w.now) {
		w.deliver(f)
	}
	if w.now%w.cfg.tickEvery == 0 {
		w.tick()
		w.faultStep()
	}
	if w.now%checkEvery == 0 {
		for _, n := range w.upNodes() {
			w.rec.checkNamespace(n.id, n.eng, "periodically")
		}
	}
	for _, c := range w.clients {
		c.act(w)
	}
	w.probe.act(w)
}

// run drives the whole simulation and returns the first failure.
func (w *world) run() error {
	for range w.cfg.nodes {
		w.addNode(true)
	}

	for _, n := range w.nodes {
		if err := w.start(n); err != nil {
			return err
		}
	}
	w.newClients()
	for w.now = 0; w.now < w.cfg.duration && w.err == nil; w.now++ {
		if w.cfg.mode == livenessMode && w.now == w.cfg.faultsUntil {
			w.calm()
		}
		w.step()
	}
	if w.err == nil {
		w.finish()
	}
	w.shutdown()
	return w.err
}

// shutdown ends every goroutine of the bubble: client attempts, control
// operations and replicas. Engines are closed last.
func (w *world) shutdown() {
	for _, c := range w.clients {
		c.abandon(w)
	}
	w.faults.abandon()
	w.probe.abandon()
	for _, n := range w.nodes {
		if n.up {
			n.cancel()
			<-n.done
		}
	}
	synctest.Wait()
	for _, n := range w.nodes {
		if n.up {
			_ = n.eng.Close()
			n.up = false
		}
	}
}
