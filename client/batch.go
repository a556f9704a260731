package client

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// batchingNS is a node's Namespace client that coalesces the Mutate, Lookup
// and GetAttr calls made at the same time by different goroutines into
// Batch RPCs, so that under load the per-RPC costs (HTTP/2 framing, a server
// goroutine, the scheduler's wake-ups on both sides) are paid once per batch
// instead of once per call.
//
// A call joins its class's queue; the first call into an empty queue starts
// a sender, which yields the processor once (every goroutine that is ready
// to run gets its turn, and those about to make a call queue theirs) and
// then sends whatever the queue holds as one RPC, or a lone call as its
// plain RPC. RPCs are not limited in number: a slow batch delays only its
// own calls. Calls are batched by class (mutations, and reads by
// consistency) so that a call that may wait long (a STRONG read without a
// quorum) never holds up one that need not (a STALE read). A batch's reply
// waits for its slowest call; the calls of one class wait for the same
// things (a commit, an applied index, a read round), so that costs little.
// A node without Batch (an older version) gets each call alone for
// batchRetryAfter, then is asked for a Batch again: it may have been upgraded.
type batchingNS struct {
	pb.NamespaceClient

	mu           sync.Mutex
	queues       [numBatchClasses]batchQueue
	noBatchUntil time.Time        // until then, the node is taken to have no Batch: send each call alone
	now          func() time.Time // time.Now; tests replace it

	beforeTake func() // tests: runs in each sender before it takes the queue
}

// batchRetryAfter is how long a node that answered a Batch with Unimplemented
// gets plain calls before the next batch asks it again.
const batchRetryAfter = time.Minute

// batchQueue holds the calls of one class waiting for their sender.
type batchQueue struct {
	calls   []*batchCall
	pending bool // a sender has started and not yet taken the calls
}

// Batch classes: mutations, then reads by their consistency.
const (
	classMutate = iota
	classStrong
	classSession
	classStale
	numBatchClasses
)

// A batch carries at most maxBatchCalls calls (the server accepts up to
// rpc.MaxBatchItems) and, beyond its first call, at most maxBatchBytes of
// requests, well inside the 16 MiB message limit (a command may be 1 MiB).
const (
	maxBatchCalls = 256
	maxBatchBytes = 4 << 20
)

// batchCall is one caller's call, answered through done.
type batchCall struct {
	ctx  context.Context
	item *pb.BatchItem
	res  *pb.BatchResult
	err  error
	done chan struct{}
}

func newBatchingNS(ns pb.NamespaceClient) *batchingNS {
	return &batchingNS{NamespaceClient: ns, now: time.Now}
}

func (b *batchingNS) Mutate(ctx context.Context, req *pb.MutateRequest, opts ...grpc.CallOption) (*pb.MutateReply, error) {
	if len(opts) > 0 {
		return b.NamespaceClient.Mutate(ctx, req, opts...)
	}
	res, err := b.call(ctx, classMutate, &pb.BatchItem{Call: &pb.BatchItem_Mutate{Mutate: req}})
	return res.GetMutate(), err
}

func (b *batchingNS) Lookup(ctx context.Context, req *pb.LookupRequest, opts ...grpc.CallOption) (*pb.AttrReply, error) {
	if len(opts) > 0 {
		return b.NamespaceClient.Lookup(ctx, req, opts...)
	}
	res, err := b.call(ctx, readClass(req.GetRead()), &pb.BatchItem{Call: &pb.BatchItem_Lookup{Lookup: req}})
	return res.GetAttr(), err
}

func (b *batchingNS) GetAttr(ctx context.Context, req *pb.GetAttrRequest, opts ...grpc.CallOption) (*pb.AttrReply, error) {
	if len(opts) > 0 {
		return b.NamespaceClient.GetAttr(ctx, req, opts...)
	}
	res, err := b.call(ctx, readClass(req.GetRead()), &pb.BatchItem{Call: &pb.BatchItem_GetAttr{GetAttr: req}})
	return res.GetAttr(), err
}

func readClass(ro *pb.ReadOptions) int {
	switch ro.GetConsistency() {
	case pb.Consistency_SESSION:
		return classSession
	case pb.Consistency_STALE:
		return classStale
	}
	return classStrong
}

// call queues one call, starts its class's sender unless one is about to
// take the queue, and waits for the answer or for ctx. A call whose ctx ends
// while it is on its way may still be applied, as a plain call may.
func (b *batchingNS) call(ctx context.Context, class int, item *pb.BatchItem) (*pb.BatchResult, error) {
	c := &batchCall{ctx: ctx, item: item, done: make(chan struct{})}
	q := &b.queues[class]
	b.mu.Lock()
	q.calls = append(q.calls, c)
	start := !q.pending
	q.pending = true
	b.mu.Unlock()
	if start {
		go b.send(q)
	}
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		return nil, grpcstatus.FromContextError(ctx.Err()).Err()
	}
}

// send lets the goroutines that are ready to run queue their calls, then
// sends what q holds (up to maxBatchCalls and maxBatchBytes; a sender for
// the rest starts).
func (b *batchingNS) send(q *batchQueue) {
	runtime.Gosched()
	if b.beforeTake != nil {
		b.beforeTake()
	}
	b.mu.Lock()
	n := batchLen(q.calls)
	calls := make([]*batchCall, 0, n)
	for _, c := range q.calls[:n] {
		if c.ctx.Err() == nil { // else its caller has gone
			calls = append(calls, c)
		}
	}
	q.calls = append(q.calls[:0], q.calls[n:]...)
	q.pending = len(q.calls) > 0
	if q.pending {
		go b.send(q)
	}
	noBatch := b.now().Before(b.noBatchUntil)
	b.mu.Unlock()
	switch {
	case len(calls) == 1:
		c := calls[0]
		c.res, c.err = b.single(c.ctx, c.item)
		close(c.done)
	case noBatch:
		b.sendEach(calls)
	case len(calls) > 1:
		b.sendBatch(calls)
	}
}

// batchLen is how many of calls, from the first, one batch takes.
func batchLen(calls []*batchCall) int {
	n, size := 0, 0
	for n < min(len(calls), maxBatchCalls) {
		size += proto.Size(calls[n].item)
		if n > 0 && size > maxBatchBytes {
			break
		}
		n++
	}
	return n
}

// sendBatch sends calls as one Batch and answers each from its result.
func (b *batchingNS) sendBatch(calls []*batchCall) {
	ctx, cancel := batchContext(calls)
	defer cancel()
	// Once every caller has gone, the batch is abandoned too.
	var waiting atomic.Int64
	waiting.Store(int64(len(calls)))
	for _, c := range calls {
		stop := context.AfterFunc(c.ctx, func() {
			if waiting.Add(-1) == 0 {
				cancel()
			}
		})
		defer stop()
	}
	req := &pb.BatchRequest{Items: make([]*pb.BatchItem, len(calls))}
	for i, c := range calls {
		req.Items[i] = c.item
	}
	reply, err := b.NamespaceClient.Batch(ctx, req)
	if grpcstatus.Code(err) == codes.Unimplemented {
		b.mu.Lock()
		b.noBatchUntil = b.now().Add(batchRetryAfter)
		b.mu.Unlock()
		b.sendEach(calls)
		return
	}
	if err == nil && len(reply.GetResults()) != len(calls) {
		err = grpcstatus.Errorf(codes.Internal, "batch of %d calls answered with %d results", len(calls), len(reply.GetResults()))
	}
	for i, c := range calls {
		if err != nil {
			c.err = err
		} else {
			c.res, c.err = batchResult(c.item, reply.GetResults()[i])
		}
		close(c.done)
	}
}

// batchResult unpacks one item's result: its reply, or its error. A reply
// of another kind than the call (or none) is a malformed answer.
func batchResult(item *pb.BatchItem, r *pb.BatchResult) (*pb.BatchResult, error) {
	switch reply := r.GetReply().(type) {
	case *pb.BatchResult_Error:
		st := &status.Status{}
		if err := proto.Unmarshal(reply.Error, st); err != nil {
			return nil, grpcstatus.Errorf(codes.Internal, "batch: undecodable error of an item: %v", err)
		}
		return nil, grpcstatus.ErrorProto(st)
	case *pb.BatchResult_Mutate:
		if _, ok := item.GetCall().(*pb.BatchItem_Mutate); ok && reply.Mutate != nil {
			return r, nil
		}
	case *pb.BatchResult_Attr:
		if _, ok := item.GetCall().(*pb.BatchItem_Mutate); !ok && reply.Attr != nil {
			return r, nil
		}
	}
	return nil, grpcstatus.Errorf(codes.Internal, "batch: an item answered with %T", r.GetReply())
}

// sendEach sends every call on its own, at once.
func (b *batchingNS) sendEach(calls []*batchCall) {
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Go(func() {
			c.res, c.err = b.single(c.ctx, c.item)
			close(c.done)
		})
	}
	wg.Wait()
}

// single runs one item as its plain RPC.
func (b *batchingNS) single(ctx context.Context, item *pb.BatchItem) (*pb.BatchResult, error) {
	switch call := item.GetCall().(type) {
	case *pb.BatchItem_Mutate:
		r, err := b.NamespaceClient.Mutate(ctx, call.Mutate)
		return &pb.BatchResult{Reply: &pb.BatchResult_Mutate{Mutate: r}}, err
	case *pb.BatchItem_Lookup:
		r, err := b.NamespaceClient.Lookup(ctx, call.Lookup)
		return &pb.BatchResult{Reply: &pb.BatchResult_Attr{Attr: r}}, err
	case *pb.BatchItem_GetAttr:
		r, err := b.NamespaceClient.GetAttr(ctx, call.GetAttr)
		return &pb.BatchResult{Reply: &pb.BatchResult_Attr{Attr: r}}, err
	}
	return nil, grpcstatus.Error(codes.Internal, "batch: item without a call")
}

// batchContext is the context of one Batch RPC: the first call's values
// (the outgoing metadata every call of a client shares) without its
// cancellation, and the latest deadline of the calls (none if one has none).
func batchContext(calls []*batchCall) (context.Context, context.CancelFunc) {
	ctx := context.WithoutCancel(calls[0].ctx)
	var last time.Time
	for _, c := range calls {
		d, ok := c.ctx.Deadline()
		if !ok {
			return context.WithCancel(ctx)
		}
		if d.After(last) {
			last = d
		}
	}
	return context.WithDeadline(ctx, last)
}
