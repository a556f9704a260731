package rpc

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// MaxBatchItems bounds the items of one Batch.
const MaxBatchItems = 1024

// Batch handles every item as the call on its own would be handled, all of
// them at once (concurrent proposals share raft's batches, concurrent STRONG
// reads one ReadIndex round), and answers each with its reply or its error.
// The call itself fails only when the request is malformed as a whole.
func (s *Server) Batch(ctx context.Context, req *pb.BatchRequest) (*pb.BatchReply, error) {
	items := req.GetItems()
	if len(items) > MaxBatchItems {
		return nil, invalid(fmt.Sprintf("batch of %d items, at most %d", len(items), MaxBatchItems))
	}
	start := time.Now()
	results := make([]*pb.BatchResult, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() { results[i] = s.batchItem(ctx, it, start) })
	}
	wg.Wait()
	return &pb.BatchReply{Results: results}, nil
}

// batchItem runs one item's call. Its meta's server time counts from the
// start of the batch, as the caller waited from then.
func (s *Server) batchItem(ctx context.Context, it *pb.BatchItem, start time.Time) *pb.BatchResult {
	var res *pb.BatchResult
	var meta *pb.ReplyMeta
	var err error
	switch c := it.GetCall().(type) {
	case *pb.BatchItem_Mutate:
		var r *pb.MutateReply
		r, err = s.Mutate(ctx, c.Mutate)
		res, meta = &pb.BatchResult{Reply: &pb.BatchResult_Mutate{Mutate: r}}, r.GetMeta()
	case *pb.BatchItem_Lookup:
		var r *pb.AttrReply
		r, err = s.Lookup(ctx, c.Lookup)
		res, meta = &pb.BatchResult{Reply: &pb.BatchResult_Attr{Attr: r}}, r.GetMeta()
	case *pb.BatchItem_GetAttr:
		var r *pb.AttrReply
		r, err = s.GetAttr(ctx, c.GetAttr)
		res, meta = &pb.BatchResult{Reply: &pb.BatchResult_Attr{Attr: r}}, r.GetMeta()
	default:
		err = invalid("batch item without a call")
	}
	if err != nil {
		return batchError(toStatus(err, s.leaderName()))
	}
	if meta != nil {
		meta.ServerNs = int64(time.Since(start))
	}
	return res
}

// batchError carries err, a gRPC status error, as one item's result.
func batchError(err error) *pb.BatchResult {
	b, _ := proto.Marshal(status.Convert(err).Proto()) // a Status always marshals
	return &pb.BatchResult{Reply: &pb.BatchResult_Error{Error: b}}
}
