package rpc

import (
	"context"
	"strings"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
)

// Check runs the namespace invariant checker on this node's replica and
// returns the digest of the same view, for `geomdsctl fsck`.
func (s *Server) Check(ctx context.Context, req *pb.CheckRequest) (*pb.CheckReply, error) {
	if sh := req.GetShard(); sh != 0 && sh != shardID {
		return nil, errnoStatus(pb.Errno_ENOENT, "no such shard")
	}
	v, err := s.cfg.Engine.View(shardID)
	if err != nil {
		return nil, toStatus(err, "")
	}
	defer v.Close()
	out := &pb.CheckReply{Node: s.cfg.Name, Applied: v.Applied()}
	if err := namespace.Check(v); err != nil {
		msg := strings.TrimPrefix(err.Error(), "namespace check: ")
		out.Violations = strings.Split(msg, "; ")
	}
	digest, err := namespace.Digest(v)
	if err != nil {
		return nil, toStatus(err, "")
	}
	out.NamespaceDigest = digest[:]
	return out, nil
}
