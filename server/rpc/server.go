package rpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/fsm"
	"github.com/geomds/geomds/server/replica"
	"github.com/geomds/geomds/server/storage"
)

// Shard is what the handlers need of one shard's replica.
type Shard interface {
	Propose(ctx context.Context, payload []byte) (any, uint64, error)
	ReadIndex(ctx context.Context) (uint64, error)
	WaitApplied(ctx context.Context, index uint64) error
	LastLeaderContact() time.Time
	Status() replica.Status
	Leader() uint64
	ChangeMembership(ctx context.Context, cc *raftpb.ConfChangeV2) (*raftpb.ConfState, error)
	TransferLeader(ctx context.Context, to uint64) error
}

var _ Shard = (*replica.Replica)(nil)

// Config wires the handlers to one node.
type Config struct {
	Name   string // this node's name
	Site   string // this node's site
	NodeID uint64
	Shard  Shard
	FSM    *fsm.FSM
	Engine *storage.Engine
	// Forward calls Status on another node (by address) for a follower that
	// answers with its leader's view; nil answers locally.
	Forward func(ctx context.Context, addr string, req *pb.StatusRequest) (*pb.StatusReply, error)
	// NoQuorumAfter: with no contact with a leader for this long, writes and
	// STRONG reads fail at once (degraded mode) instead of waiting.
	NoQuorumAfter time.Duration
	// PeerRTT returns the round trips this node measured to the other
	// members, by name (nil: none).
	PeerRTT func() map[string]time.Duration
	Now     func() time.Time
}

// Server implements the Namespace and Cluster services of one node.
type Server struct {
	pb.UnimplementedNamespaceServer
	pb.UnimplementedClusterServer
	cfg     Config
	started time.Time // a node that just started has not had time to hear a leader
}

// New returns the handlers of one node.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{cfg: cfg, started: cfg.Now()}
}

const shardID = 1

// errNoQuorum is returned when this node has lost contact with any leader.
var errNoQuorum = errors.New("no quorum reachable")

// leaderName is the name of the current leader as this node knows it.
func (s *Server) leaderName() string {
	id := s.cfg.Shard.Leader()
	if m, ok := s.cfg.FSM.Member(id); ok {
		return m.Name
	}
	return ""
}

// QuorumErr says why this node is in degraded mode (no leader heard from
// for longer than NoQuorumAfter, counted from its start), nil otherwise. The
// handlers fail writes and STRONG reads with it; the node's health service
// reports it.
func (s *Server) QuorumErr() error {
	if s.cfg.NoQuorumAfter <= 0 {
		return nil
	}
	last := s.cfg.Shard.LastLeaderContact()
	if last.Before(s.started) {
		last = s.started
	}
	if s.cfg.Now().Sub(last) > s.cfg.NoQuorumAfter {
		return fmt.Errorf("%w from site %s (no leader for %s)", errNoQuorum, s.cfg.Site, s.cfg.Now().Sub(last).Round(time.Millisecond))
	}
	return nil
}

func (s *Server) meta(c pb.Consistency, staleness time.Duration) *pb.ReplyMeta {
	return &pb.ReplyMeta{
		Node:         s.cfg.Name,
		Site:         s.cfg.Site,
		Consistency:  c,
		AppliedIndex: s.cfg.FSM.Applied(),
		StalenessNs:  int64(staleness),
		Leader:       s.leaderName(),
		LowSpace:     s.cfg.FSM.AnyLowSpace(),
	}
}
