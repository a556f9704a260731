package sim

import (
	"math/rand/v2"

	"github.com/geomds/geomds/server/replica"
)

// mode is what a run checks.
type mode int

const (
	// safetyMode: faults until the end; only safety is checked.
	safetyMode mode = iota
	// livenessMode: faults stop half-way; the cluster must then commit a
	// write within a bound and converge.
	livenessMode
)

func (m mode) String() string { return [...]string{"safety", "liveness"}[m] }

// bug is a defect injected on purpose, to show the checkers catch it.
type bug int

const (
	noBug bug = iota
	// bugSkipApply: node 2 applies some entries as no-ops.
	bugSkipApply
	// bugStaleRead: reads skip the ReadIndex barrier and read a random
	// node's local state.
	bugStaleRead
	// bugRetryNewSeq: a write whose outcome is unknown is retried under a
	// new seq, defeating exactly-once.
	bugRetryNewSeq
	// bugNeverHeal: when a liveness run's faults stop, every link is cut
	// instead of healed.
	bugNeverHeal
)

// simConfig is everything a run depends on; all of it derives from the seed.
type simConfig struct {
	seed uint64
	mode mode
	bug  bug

	nodes    int // initial voters: 3 or 5
	maxJoins int // nodes membership changes may add
	clients  int

	tickEvery     int64 // time units per Raft tick
	electionTicks int
	duration      int64 // workload (and, in safety mode, faults) end here
	faultsUntil   int64 // liveness mode: faults stop here
	livenessBound int64 // liveness mode: time units allowed to commit, and to converge

	snapshotEntries, compactKeep uint64
	faultPct                     int // chance per tick of a fault action
	net                          netParams

	// leaseReads: ReadIndex is answered from the leader's lease (the
	// server's default) instead of a heartbeat round.
	leaseReads bool
	// pauseLeaders: pauses may stop a leader. Off when lease reads are on
	// (unless -sim.leasepause): a leader's lease is measured in its own
	// ticks, so one that was stopped for longer than an election timeout
	// answers reads from a lease that has long expired (see the package
	// doc).
	pauseLeaders bool
}

// calmNet is the network once a liveness run's faults stop.
var calmNet = netParams{minDelay: 1, maxDelay: 5}

func configFor(seed uint64, m mode) simConfig {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	c := simConfig{
		seed: seed, mode: m,
		nodes: 3, maxJoins: 2, clients: 2 + r.IntN(4),
		tickEvery: 10, electionTicks: 10,
		duration:        3000,
		snapshotEntries: uint64(2 + r.IntN(20)), compactKeep: uint64(1 + r.IntN(6)),
		faultPct: 5 + r.IntN(20),
		net: netParams{
			dropPct: r.IntN(8), dupPct: r.IntN(5),
			minDelay: 1, maxDelay: 2 + r.Int64N(15),
			slowPct: r.IntN(5), slowDelay: 100,
		},
	}
	if r.IntN(5) == 0 {
		c.nodes = 5
	}
	c.leaseReads = r.IntN(4) != 0
	c.pauseLeaders = !c.leaseReads || *flagLeasePause
	if m == livenessMode {
		c.faultsUntil, c.duration = 2000, 2800
		c.livenessBound = 6 * int64(c.electionTicks) * c.tickEvery // six election timeouts
	}
	return c
}

// workloadUntil is when clients stop starting operations.
func (c simConfig) workloadUntil() int64 { return c.duration }

// injectApplyBug returns the entries a node's state machine is handed.
func (w *world) injectApplyBug(n *node, ents []replica.Entry) []replica.Entry {
	if w.cfg.bug != bugSkipApply || n.id != 2 {
		return ents
	}
	out := make([]replica.Entry, len(ents))
	copy(out, ents)
	for i := range out {
		if len(out[i].Data) > 0 && out[i].Index%7 == 0 {
			out[i].Data = nil
		}
	}
	return out
}
