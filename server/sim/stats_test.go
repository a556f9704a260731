package sim

import "fmt"

// stats count what a run exercised, to show the faults really happen.
type stats struct {
	crashes, midReady, restarts, restores, leaders, confChanges, transfers int
	ops, unknown, snapsSent                                                int
	worstProbe                                                             int64 // liveness: time units to commit after the faults
}

func (s *stats) add(o stats) {
	s.crashes += o.crashes
	s.midReady += o.midReady
	s.restarts += o.restarts
	s.restores += o.restores
	s.leaders += o.leaders
	s.confChanges += o.confChanges
	s.transfers += o.transfers
	s.ops += o.ops
	s.unknown += o.unknown
	s.snapsSent += o.snapsSent
	s.worstProbe = max(s.worstProbe, o.worstProbe)
}

func (s stats) String() string {
	return fmt.Sprintf("%d operations (%d unknown), %d crashes (%d inside a Ready), %d restarts, %d snapshots sent, %d restored, %d leaders, %d conf changes, %d leader transfers asked, slowest recovery %d units",
		s.ops, s.unknown, s.crashes, s.midReady, s.restarts, s.snapsSent, s.restores, s.leaders, s.confChanges, s.transfers, s.worstProbe)
}
