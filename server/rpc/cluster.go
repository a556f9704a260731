package rpc

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
)

// Status reports nodes and shards. A follower answers with its leader's
// view (only the leader knows every replica's progress) unless asked for
// its own. The full view asks every node for its own figures (applied
// index, disk usage) and records the round trip to it.
func (s *Server) Status(ctx context.Context, req *pb.StatusRequest) (*pb.StatusReply, error) {
	leader := s.cfg.Shard.Leader()
	if req.GetLocal() || s.cfg.Forward == nil {
		return s.localStatus(), nil
	}
	if leader != 0 && leader != s.cfg.NodeID {
		if m, ok := s.cfg.FSM.Member(leader); ok {
			if out, err := s.cfg.Forward(ctx, m.Address, &pb.StatusRequest{}); err == nil {
				return out, nil
			}
		}
	}
	out := s.localStatus()
	s.fanOut(ctx, out)
	return out, nil
}

// fanOut fills in every other node's own figures, in parallel, each bounded
// by a short timeout so a dead node costs one timeout, not one per node.
func (s *Server) fanOut(ctx context.Context, out *pb.StatusReply) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	rtt := s.peerRTT() // measured by this node's probe, not by this call
	var wg sync.WaitGroup
	for _, n := range out.Nodes {
		if n.Name == s.cfg.Name {
			continue
		}
		wg.Add(1)
		go func(n *pb.NodeStatus) {
			defer wg.Done()
			own, err := s.cfg.Forward(ctx, n.Address, &pb.StatusRequest{Local: true})
			if err != nil {
				n.Healthy, n.Role, n.Error = false, "down", err.Error()
				return
			}
			n.RttNs = rtt[n.Name]
			for _, o := range own.GetNodes() {
				if o.GetName() == n.Name {
					n.DiskBytes, n.Applied, n.PeerRttNs = o.GetDiskBytes(), o.GetApplied(), o.GetPeerRttNs()
					if n.Role == "" || n.Role == "follower" {
						n.Role = o.GetRole()
					}
				}
			}
		}(n)
	}
	wg.Wait()
}

func (s *Server) localStatus() *pb.StatusReply {
	st := s.cfg.Shard.Status()
	home := ""
	if v, err := s.cfg.Engine.View(shardID); err == nil {
		home, _ = namespace.HomeSite(v)
		v.Close()
	}
	shard := &pb.ShardStatus{Id: shardID, Term: st.Term, Commit: st.Commit, HomeSite: home, Leader: s.leaderName()}
	out := &pb.StatusReply{Meta: s.meta(pb.Consistency_STALE, s.sinceLeader())}
	for _, m := range s.cfg.FSM.Members() {
		r := &pb.ReplicaStatus{Name: m.Name, Role: "voter"}
		if m.Learner {
			r.Role = "learner"
		}
		node := &pb.NodeStatus{Name: m.Name, Site: m.Site, Address: m.Address, Role: "follower"}
		if m.Learner {
			node.Role = "learner"
		}
		switch {
		case m.Id == s.cfg.NodeID:
			r.Applied, r.Healthy = s.cfg.FSM.Applied(), true
			r.Match = r.Applied
			node.Applied, node.DiskBytes, node.Role = r.Applied, s.cfg.Engine.DiskUsage(), st.Role
			node.PeerRttNs = s.peerRTT()
		default:
			if p, ok := st.Progress[m.Id]; ok {
				r.Match, r.Applied, r.Healthy = p.Match, p.Match, p.RecentActive
			}
		}
		if m.Id == st.Leader {
			node.Role = "leader"
		}
		node.Healthy = r.Healthy
		shard.Replicas = append(shard.Replicas, r)
		out.Nodes = append(out.Nodes, node)
	}
	out.Shards = []*pb.ShardStatus{shard}
	return out
}

func (s *Server) MemberList(ctx context.Context, _ *pb.MemberListRequest) (*pb.MemberListReply, error) {
	return &pb.MemberListReply{Members: s.cfg.FSM.Members()}, nil
}

func (s *Server) memberByName(name string) (*pb.Member, error) {
	for _, m := range s.cfg.FSM.Members() {
		if m.Name == name {
			return m, nil
		}
	}
	return nil, errnoStatus(pb.Errno_ENOENT, fmt.Sprintf("no member named %q", name))
}

// AddMember adds a node as a learner (or a voter when asked) under a new,
// never reused ID; the node then starts with `geomds serve --join`. Adding
// a member that exists with the same site, address and role succeeds and
// changes nothing (a retry whose first attempt was applied); any other
// member of that name is EEXIST.
func (s *Server) AddMember(ctx context.Context, req *pb.AddMemberRequest) (*pb.AddMemberReply, error) {
	if req.GetName() == "" || req.GetSite() == "" || req.GetAddress() == "" {
		return nil, invalid("add member: name, site and address are required")
	}
	if m, err := s.memberByName(req.GetName()); err == nil {
		if m.Site != req.GetSite() || m.Address != req.GetAddress() || m.Learner != req.GetLearner() {
			return nil, errnoStatus(pb.Errno_EEXIST, fmt.Sprintf("member %q exists at site %s, address %s", m.Name, m.Site, m.Address))
		}
		return &pb.AddMemberReply{Member: m, Members: s.cfg.FSM.Members()}, nil
	}
	id, err := s.cfg.FSM.NextMemberID()
	if err != nil {
		return nil, toStatus(err, "")
	}
	m := &pb.Member{Id: id, Name: req.GetName(), Site: req.GetSite(), Address: req.GetAddress(), Learner: req.GetLearner()}
	typ := raftpb.ConfChangeAddNode
	if m.Learner {
		typ = raftpb.ConfChangeAddLearnerNode
	}
	if err := s.changeMembers(ctx, typ, m); err != nil {
		return nil, err
	}
	return &pb.AddMemberReply{Member: m, Members: s.cfg.FSM.Members()}, nil
}

// RemoveMember removes a node. Without force it refuses when the voters
// left could not form a quorum of healthy members.
func (s *Server) RemoveMember(ctx context.Context, req *pb.MemberRequest) (*pb.MemberReply, error) {
	m, err := s.memberByName(req.GetName())
	if err != nil {
		return nil, err
	}
	if !req.GetForce() && !m.Learner {
		if err := s.checkRemoveSafe(m.Id); err != nil {
			return nil, err
		}
	}
	if err := s.changeMembers(ctx, raftpb.ConfChangeRemoveNode, m); err != nil {
		return nil, err
	}
	return &pb.MemberReply{Members: s.cfg.FSM.Members()}, nil
}

// PromoteMember makes a learner a voter. Without force it refuses a learner
// that lags the leader's commit index by more than maxPromoteLag entries.
// Promoting a voter succeeds and changes nothing (a retry whose first
// attempt was applied).
func (s *Server) PromoteMember(ctx context.Context, req *pb.MemberRequest) (*pb.MemberReply, error) {
	m, err := s.memberByName(req.GetName())
	if err != nil {
		return nil, err
	}
	if !m.Learner {
		return &pb.MemberReply{Members: s.cfg.FSM.Members()}, nil
	}
	if !req.GetForce() {
		if err := s.checkPromoteSafe(m.Id); err != nil {
			return nil, err
		}
	}
	m.Learner = false
	if err := s.changeMembers(ctx, raftpb.ConfChangeAddNode, m); err != nil {
		return nil, err
	}
	return &pb.MemberReply{Members: s.cfg.FSM.Members()}, nil
}

const maxPromoteLag = 1000

func (s *Server) checkPromoteSafe(id uint64) error {
	st := s.cfg.Shard.Status()
	p, ok := st.Progress[id]
	if !ok {
		return errnoStatus(pb.Errno_EAGAIN, "promote: ask the leader (only it knows the learner's progress)")
	}
	if p.Match+maxPromoteLag < st.Commit {
		return errnoStatus(pb.Errno_EBUSY, fmt.Sprintf("promote: learner is %d entries behind; wait until it catches up (or --force)", st.Commit-p.Match))
	}
	return nil
}

func (s *Server) checkRemoveSafe(id uint64) error {
	st := s.cfg.Shard.Status()
	if len(st.Progress) == 0 {
		return errnoStatus(pb.Errno_EAGAIN, "remove: ask the leader (only it knows which voters are healthy)")
	}
	voters, healthy := 0, 0
	for vid, p := range st.Progress {
		if p.Learner || vid == id {
			continue
		}
		voters++
		if p.RecentActive || vid == s.cfg.NodeID {
			healthy++
		}
	}
	if healthy < voters/2+1 {
		return errnoStatus(pb.Errno_EBUSY, fmt.Sprintf("remove: only %d of the %d remaining voters are healthy, not a quorum (or --force)", healthy, voters))
	}
	return nil
}

func (s *Server) changeMembers(ctx context.Context, typ raftpb.ConfChangeType, m *pb.Member) error {
	ctxBytes, err := proto.Marshal(m)
	if err != nil {
		return invalid(err.Error())
	}
	cc := &raftpb.ConfChangeV2{
		Changes: []*raftpb.ConfChangeSingle{{Type: typ.Enum(), NodeId: proto.Uint64(m.Id)}},
		Context: ctxBytes,
	}
	if _, err := s.cfg.Shard.ChangeMembership(ctx, cc); err != nil {
		return toStatus(err, s.leaderName())
	}
	return nil
}

// TransferLeader moves the shard's leadership to the named node.
func (s *Server) TransferLeader(ctx context.Context, req *pb.TransferLeaderRequest) (*pb.TransferLeaderReply, error) {
	m, err := s.memberByName(req.GetTo())
	if err != nil {
		return nil, err
	}
	if m.Learner {
		return nil, invalid(fmt.Sprintf("%q is a learner; promote it first", m.Name))
	}
	if err := s.cfg.Shard.TransferLeader(ctx, m.Id); err != nil {
		return nil, toStatus(err, s.leaderName())
	}
	return &pb.TransferLeaderReply{Leader: s.leaderName()}, nil
}

func (s *Server) peerRTT() map[string]int64 {
	if s.cfg.PeerRTT == nil {
		return nil
	}
	out := map[string]int64{}
	for name, d := range s.cfg.PeerRTT() {
		out[name] = int64(d)
	}
	return out
}
