package rpc

import (
	"context"

	"google.golang.org/protobuf/proto"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// maxCommandBytes bounds one command (a layout of many extents is the
// largest); the gRPC server's own limit is the outer bound.
const maxCommandBytes = 1 << 20

// Mutate proposes one command and returns its result once applied here.
func (s *Server) Mutate(ctx context.Context, req *pb.MutateRequest) (*pb.MutateReply, error) {
	cmd := req.GetCommand()
	if err := validateCommand(cmd); err != nil {
		return nil, err
	}
	if err := s.spaceErr(cmd); err != nil {
		return nil, err
	}
	if err := s.QuorumErr(); err != nil {
		return nil, toStatus(err, s.leaderName())
	}
	cmd.Shard = shardID
	cmd.TimeNs = s.cfg.Now().UnixNano()
	data, err := proto.Marshal(cmd)
	if err != nil {
		return nil, invalid(err.Error())
	}
	if len(data) > maxCommandBytes {
		return nil, invalid("command too large")
	}
	out, _, err := s.cfg.Shard.Propose(ctx, data)
	if err != nil {
		return nil, toStatus(err, s.leaderName())
	}
	res, _ := out.(*pb.Result)
	if res == nil {
		return nil, toStatus(errNoResult, s.leaderName())
	}
	if res.Errno != pb.Errno_OK {
		return nil, errnoStatus(res.Errno, opName(cmd)+": "+res.Errno.String()+detail(res.Detail))
	}
	meta := s.meta(pb.Consistency_STRONG, 0)
	meta.WanRoundTrips = s.toLeader() + s.commitRound()
	return &pb.MutateReply{Meta: meta, Result: res}, nil
}

func detail(d string) string {
	if d == "" {
		return ""
	}
	return ": " + d
}
