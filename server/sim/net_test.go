package sim

import (
	"container/heap"

	"go.etcd.io/raft/v3/raftpb"
)

// nodeID names a node (its Raft ID).
type nodeID uint64

// link is one direction of a connection between two nodes.
type link struct{ from, to nodeID }

// netParams are the network's current fault rates, in percent, and its
// one-way delay range in simulated time units.
type netParams struct {
	dropPct, dupPct    int
	minDelay, maxDelay int64
	// slowPct percent of messages take up to slowDelay instead: they
	// overtake nothing but are overtaken, so the receiver sees reordering.
	slowPct   int
	slowDelay int64
}

// flight is one message on the wire.
type flight struct {
	at   int64  // delivery time
	seq  uint64 // tie-break: the order messages were sent in
	from nodeID
	to   nodeID
	msg  *raftpb.Message
	snap []byte // MsgSnap: the sender's state stream
}

// flights is a min-heap by (at, seq).
type flights []*flight

func (h flights) Len() int { return len(h) }
func (h flights) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h flights) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *flights) Push(x any)   { *h = append(*h, x.(*flight)) }
func (h *flights) Pop() any {
	old := *h
	f := old[len(old)-1]
	*h = old[:len(old)-1]
	return f
}

// network is the simulated network. Messages are queued with a seeded
// delay; the simulation delivers those that are due, one at a time.
type network struct {
	params  netParams
	blocked map[link]bool // links a partition cuts
	queue   flights
	seq     uint64
}

func newNetwork(p netParams) *network {
	return &network{params: p, blocked: map[link]bool{}}
}

func (n *network) cut(l link) bool { return n.blocked[l] }

// heal removes every partition.
func (n *network) heal() { n.blocked = map[link]bool{} }

// send queues m from → to, or drops or duplicates it, as the dice say.
// It reports whether m was dropped (a dropped snapshot must be reported
// to its sender).
func (n *network) send(w *world, from, to nodeID, m *raftpb.Message, snap []byte) (dropped bool) {
	if n.cut(link{from, to}) || w.pct(n.params.dropPct) {
		return true
	}
	copies := 1
	if w.pct(n.params.dupPct) {
		copies = 2
	}
	for range copies {
		n.seq++
		heap.Push(&n.queue, &flight{at: w.now + n.delay(w), seq: n.seq, from: from, to: to, msg: m, snap: snap})
	}
	return false
}

func (n *network) delay(w *world) int64 {
	p := n.params
	if p.slowPct > 0 && w.pct(p.slowPct) {
		return p.minDelay + w.rng.Int64N(p.slowDelay+1)
	}
	return p.minDelay + w.rng.Int64N(p.maxDelay-p.minDelay+1)
}

// due pops the next message due at or before now, if any.
func (n *network) due(now int64) *flight {
	if len(n.queue) == 0 || n.queue[0].at > now {
		return nil
	}
	return heap.Pop(&n.queue).(*flight)
}

// delayUntil pushes f back to be delivered at time at (a paused receiver).
func (n *network) delayUntil(f *flight, at int64) {
	f.at = at
	n.seq++
	f.seq = n.seq
	heap.Push(&n.queue, f)
}
