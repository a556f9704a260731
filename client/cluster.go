package client

import (
	"context"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/grpc"
)

// Cluster administration.

// Status returns the cluster's nodes and shards; local asks the serving node
// for its own view only (no calls to other nodes).
func (c *Client) Status(ctx context.Context, local bool) (*pb.StatusReply, error) {
	var reply *pb.StatusReply
	err := c.invoke(ctx, "Status", readCall, func(ctx context.Context, ep *endpoint) (*pb.ReplyMeta, error) {
		r, err := ep.cl.Status(ctx, &pb.StatusRequest{Local: local})
		reply = r
		if !local {
			return nil, err // a follower forwards to its leader: the meta is not ep's
		}
		return r.GetMeta(), err
	})
	if err != nil {
		return nil, withOp(err, "status", "")
	}
	c.learnNodes(reply.GetNodes())
	return reply, nil
}

// MemberList returns the members of the cluster.
func (c *Client) MemberList(ctx context.Context) ([]*pb.Member, error) {
	var reply *pb.MemberListReply
	err := c.invoke(ctx, "MemberList", readCall, func(ctx context.Context, ep *endpoint) (*pb.ReplyMeta, error) {
		r, err := ep.cl.MemberList(ctx, &pb.MemberListRequest{})
		reply = r
		return nil, err
	})
	return reply.GetMembers(), withOp(err, "member list", "")
}

// AddMember adds a node (as a learner when learner is set) and returns it.
func (c *Client) AddMember(ctx context.Context, name, site, addr string, learner bool) (*pb.Member, error) {
	req := &pb.AddMemberRequest{Name: name, Site: site, Address: addr, Learner: learner}
	var reply *pb.AddMemberReply
	err := c.invoke(ctx, "AddMember", adminCall, func(ctx context.Context, ep *endpoint) (*pb.ReplyMeta, error) {
		r, err := ep.cl.AddMember(ctx, req)
		reply = r
		return nil, err
	})
	return reply.GetMember(), withOp(err, "member add", name)
}

// RemoveMember removes the node name and returns the remaining members.
func (c *Client) RemoveMember(ctx context.Context, name string) ([]*pb.Member, error) {
	return c.member(ctx, "RemoveMember", "member remove", name, pb.ClusterClient.RemoveMember)
}

// PromoteMember makes the learner name a voter and returns the members.
func (c *Client) PromoteMember(ctx context.Context, name string) ([]*pb.Member, error) {
	return c.member(ctx, "PromoteMember", "member promote", name, pb.ClusterClient.PromoteMember)
}

// memberRPC is a ClusterClient method taking a MemberRequest.
type memberRPC func(pb.ClusterClient, context.Context, *pb.MemberRequest, ...grpc.CallOption) (*pb.MemberReply, error)

func (c *Client) member(ctx context.Context, method, op, name string, rpc memberRPC) ([]*pb.Member, error) {
	req := &pb.MemberRequest{Name: name}
	var reply *pb.MemberReply
	err := c.invoke(ctx, method, adminCall, func(ctx context.Context, ep *endpoint) (*pb.ReplyMeta, error) {
		r, err := rpc(ep.cl, ctx, req)
		reply = r
		return nil, err
	})
	return reply.GetMembers(), withOp(err, op, name)
}

// TransferLeader moves the leadership of shard to the node to.
func (c *Client) TransferLeader(ctx context.Context, shard uint64, to string) error {
	req := &pb.TransferLeaderRequest{Shard: shard, To: to}
	err := c.invoke(ctx, "TransferLeader", adminCall, func(ctx context.Context, ep *endpoint) (*pb.ReplyMeta, error) {
		r, err := ep.cl.TransferLeader(ctx, req)
		if r.GetLeader() != "" {
			c.mu.Lock()
			c.leader = r.GetLeader()
			c.mu.Unlock()
		}
		return nil, err
	})
	return withOp(err, "move-leader", to)
}
