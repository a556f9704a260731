package rpc

import (
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// siteOf is the site of a member, "" when unknown.
func (s *Server) siteOf(id uint64) string {
	if m, ok := s.cfg.FSM.Member(id); ok {
		return m.Site
	}
	return ""
}

// toLeader is 1 when the leader lives at another site than this node:
// forwarding a proposal or a ReadIndex to it crosses the WAN.
func (s *Server) toLeader() uint32 {
	lead := s.cfg.Shard.Leader()
	if lead == 0 || lead == s.cfg.NodeID || s.siteOf(lead) == s.cfg.Site {
		return 0
	}
	return 1
}

// commitRound is 1 when the leader cannot form a quorum of voters at its own
// site, so every commit waits for a voter across the WAN.
func (s *Server) commitRound() uint32 {
	local, voters := s.cfg.FSM.VotersAt(s.siteOf(s.cfg.Shard.Leader()))
	if local >= voters/2+1 {
		return 0
	}
	return 1
}

// readRounds is what a read at the given level cost in WAN round trips.
func (s *Server) readRounds(c pb.Consistency) uint32 {
	if c == pb.Consistency_STRONG {
		return s.toLeader() // the leader answers from its lease
	}
	return 0
}
