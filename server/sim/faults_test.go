package sim

import (
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/geomds/geomds/server/replica"
)

// faultsOn reports whether faults may be injected now.
func (w *world) faultsOn() bool {
	if w.cfg.mode == livenessMode {
		return w.now < w.cfg.faultsUntil
	}
	return w.now < w.cfg.duration
}

// faultStep maybe injects one fault; called once per tick.
func (w *world) faultStep() {
	w.faults.expire(w)
	w.restartDue()
	if !w.faultsOn() || !w.pct(w.cfg.faultPct) {
		return
	}
	switch r := w.rng.IntN(100); {
	case r < 2:
		w.crashAll()
	case r < 10:
		w.crashRandom()
	case r < 18:
		w.armCrash()
	case r < 40:
		w.restartRandom()
	case r < 46:
		w.pauseRandom()
	case r < 62:
		w.partitionRandom()
	case r < 72:
		w.faultf("heal")
		w.net.heal()
	case r < 80:
		w.shakeNetwork()
	case r < 88:
		w.transferLeader()
	default:
		w.changeMembership()
	}
}

func (w *world) faultf(format string, args ...any) {
	w.trace.addNote(w.now, evFault, 0, 0, 0, 0, fmt.Sprintf(format, args...))
}

// victim picks a running node for a fault, the leader half the time:
// leaders failing is where Raft's hard cases are.
func (w *world) victim(candidates []*node) *node {
	if len(candidates) == 0 {
		return nil
	}
	n := pick(w, candidates)
	if w.pct(50) {
		if ld, _ := w.leader(); ld != nil && slices.Contains(candidates, ld) {
			n = ld
		}
	}
	return n
}

func (w *world) crashRandom() {
	if n := w.victim(w.upNodes()); n != nil {
		w.crashAndMaybeRestart(n)
	}
}

func (w *world) crashAndMaybeRestart(n *node) {
	w.trace.add(w.now, evCrash, uint64(n.id), 0, 0, 0)
	w.fail(w.crash(n))
	w.maybeRestartLater(n)
}

// maybeRestartLater brings most crashed nodes back after a while; the
// others come back only when a restart fault picks them.
func (w *world) maybeRestartLater(n *node) {
	n.restartAt = 0
	if w.pct(70) {
		n.restartAt = w.now + w.cfg.tickEvery*int64(1+w.rng.IntN(4*w.cfg.electionTicks))
	}
}

// crashMidReady finishes a crash whose image was taken inside a Ready.
func (w *world) crashMidReady(n *node, image *vfs.MemFS, hard [2]hardState) {
	if !n.up {
		return
	}
	w.trace.addNote(w.now, evCrash, uint64(n.id), 0, 0, 0, "inside a Ready")
	w.stats.midReady++
	w.fail(w.kill(n, image))
	w.rec.setHard(n.id, hard)
	w.maybeRestartLater(n)
}

// armCrash makes a node die at one of the next crash points of its
// storage writes (before or after a Save, after an Apply, ...).
func (w *world) armCrash() {
	n := w.victim(w.upNodes())
	if n == nil {
		return
	}
	points := 1 + w.rng.IntN(6)
	w.faultf("node %d dies at its %d-th crash point from now", n.id, points)
	n.arm(points)
}

// loseAnswers turns the answers a node gave after its crash image into
// failures of unknown outcome: a dead process answers nobody.
func (w *world) loseAnswers(n *node) {
	lost := func(att *attempt) {
		if att != nil && att.node == n && att.inc == n.incarnation {
			if done, _, _, _ := att.result(); done {
				att.finish(nil, 0, replica.ErrStopped)
			}
		}
	}
	for _, c := range w.clients {
		if c.op != nil {
			lost(c.op.att)
		}
	}
	lost(w.probe.att)
	if op := w.faults.ctl; op != nil && op.via == n {
		if done, _ := op.result(); done {
			op.finish(replica.ErrStopped)
		}
	}
}

// crashAll is a power failure of the whole cluster.
func (w *world) crashAll() {
	w.faultf("crash all")
	for _, n := range w.upNodes() {
		w.crashAndMaybeRestart(n)
	}
}

// restartDue restarts the crashed nodes whose downtime is over.
func (w *world) restartDue() {
	for _, n := range w.nodes {
		if !n.up && !n.removed && n.restartAt > 0 && n.restartAt <= w.now {
			n.restartAt = 0
			w.trace.add(w.now, evStart, uint64(n.id), 0, 0, 0)
			w.fail(w.start(n))
		}
	}
}

func (w *world) restartRandom() {
	var down []*node
	for _, n := range w.nodes {
		if !n.up && !n.removed {
			down = append(down, n)
		}
	}
	if len(down) == 0 {
		return
	}
	n := pick(w, down)
	w.trace.add(w.now, evStart, uint64(n.id), 0, 0, 0)
	w.fail(w.start(n))
}

func (w *world) pauseRandom() {
	var candidates []*node
	for _, n := range w.upNodes() {
		if w.cfg.pauseLeaders || n.rep.Status().Role != "leader" {
			candidates = append(candidates, n)
		}
		w.settle()
	}
	n := w.victim(candidates)
	if n == nil {
		return
	}
	n.pauseTill = max(n.pauseTill, w.now+w.cfg.tickEvery*int64(1+w.rng.IntN(4*w.cfg.electionTicks)))
	w.faultf("pause node %d until %d", n.id, n.pauseTill)
}

// partitionRandom replaces the current partition with a new one, so a
// series of them rolls through the cluster.
func (w *world) partitionRandom() {
	w.net.heal()
	ids := make([]nodeID, 0, len(w.nodes))
	for _, n := range w.nodes {
		if !n.removed {
			ids = append(ids, n.id)
		}
	}
	switch w.rng.IntN(3) {
	case 0: // isolate one node
		x := pick(w, ids)
		for _, y := range ids {
			if y != x {
				w.net.blocked[link{x, y}], w.net.blocked[link{y, x}] = true, true
			}
		}
		w.faultf("isolate node %d", x)
	case 1: // split in two
		side := map[nodeID]bool{}
		for _, x := range ids {
			side[x] = w.rng.IntN(2) == 0
		}
		for _, x := range ids {
			for _, y := range ids {
				if side[x] != side[y] {
					w.net.blocked[link{x, y}] = true
				}
			}
		}
		w.faultf("split %v", side)
	default: // one-way cuts
		for range 1 + w.rng.IntN(3) {
			x, y := pick(w, ids), pick(w, ids)
			if x != y {
				w.net.blocked[link{x, y}] = true
				w.faultf("cut %d->%d", x, y)
			}
		}
	}
}

func (w *world) shakeNetwork() {
	p := &w.net.params
	p.dropPct, p.dupPct = w.rng.IntN(25), w.rng.IntN(10)
	p.minDelay = 1 + w.rng.Int64N(3)
	p.maxDelay = p.minDelay + w.rng.Int64N(3*w.cfg.tickEvery)
	p.slowPct, p.slowDelay = w.rng.IntN(10), 10*w.cfg.tickEvery
	w.faultf("network %+v", *p)
}

// calm ends the faults of a liveness run: the network heals and every
// node that is still a member runs again.
func (w *world) calm() {
	w.faultf("calm")
	w.net.heal()
	if w.cfg.bug == bugNeverHeal {
		for _, a := range w.nodes {
			for _, b := range w.nodes {
				w.net.blocked[link{a.id, b.id}] = true
			}
		}
	}
	w.net.params = calmNet
	for _, n := range w.nodes {
		n.pauseTill = 0
		n.arm(0)
		if !n.up && !n.removed {
			w.trace.add(w.now, evStart, uint64(n.id), 0, 0, 0)
			w.fail(w.start(n))
		}
	}
	w.probe.begin(w)
}
