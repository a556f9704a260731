package client

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/geomds/geomds/proto/errstatus"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// fakeNode is an in-process Namespace and Cluster server on loopback. Each
// handler records its request, then asks the test's hook (if any) what to
// answer; without a hook it answers OK with a ReplyMeta naming the node.
type fakeNode struct {
	pb.UnimplementedNamespaceServer
	pb.UnimplementedClusterServer
	name, site, addr string
	srv              *grpc.Server

	mu      sync.Mutex
	applied uint64           // raised by every successful Mutate
	leader  string           // reported in ReplyMeta.leader
	nodes   []*pb.NodeStatus // Status's node list; nil = this node only
	muts    []*pb.Command
	reads   []*pb.ReadOptions
	sites   []string // "geomds-site" metadata of every Namespace call
	batches []int    // items of every Batch asked for

	batching  bool                                            // serve Batch (else Unimplemented, as an older node)
	onMutate  func(cmd *pb.Command) error                     // nil or a status error
	onGetAttr func(context.Context, *pb.GetAttrRequest) error // idem
	onReadDir func(*pb.ReadDirRequest) *pb.ReadDirReply
	result    func(cmd *pb.Command) *pb.Result // overrides the OK result
	nextApply func() uint64                    // overrides the applied index of reads
}

func startNode(t *testing.T, name, site string) *fakeNode {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &fakeNode{name: name, site: site, addr: lis.Addr().String(), srv: grpc.NewServer()}
	pb.RegisterNamespaceServer(n.srv, n)
	pb.RegisterClusterServer(n.srv, n)
	go n.srv.Serve(lis) //nolint:errcheck // returns when stopped
	t.Cleanup(n.srv.Stop)
	return n
}

// meta is the ReplyMeta of a reply served now.
func (n *fakeNode) metaLocked(applied uint64) *pb.ReplyMeta {
	return &pb.ReplyMeta{Node: n.name, Site: n.site, AppliedIndex: applied, Leader: n.leader}
}

func (n *fakeNode) recordSite(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	n.sites = append(n.sites, md.Get(siteMetadataKey)...)
}

func (n *fakeNode) Mutate(ctx context.Context, req *pb.MutateRequest) (*pb.MutateReply, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.recordSite(ctx)
	n.muts = append(n.muts, req.GetCommand())
	if n.onMutate != nil {
		if err := n.onMutate(req.GetCommand()); err != nil {
			return nil, err
		}
	}
	n.applied++
	res := &pb.Result{Attr: &pb.Attr{Ino: 2}}
	if n.result != nil {
		res = n.result(req.GetCommand())
	}
	res.AppliedIndex = n.applied
	return &pb.MutateReply{Meta: n.metaLocked(n.applied), Result: res}, nil
}

// readLocked records a read and returns the applied index to report.
func (n *fakeNode) readLocked(ctx context.Context, ro *pb.ReadOptions) uint64 {
	n.recordSite(ctx)
	n.reads = append(n.reads, ro)
	if n.nextApply != nil {
		return n.nextApply()
	}
	return n.applied
}

func (n *fakeNode) GetAttr(ctx context.Context, req *pb.GetAttrRequest) (*pb.AttrReply, error) {
	n.mu.Lock()
	hook := n.onGetAttr
	n.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, req); err != nil {
			return nil, err
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	applied := n.readLocked(ctx, req.GetRead())
	return &pb.AttrReply{Meta: n.metaLocked(applied), Attr: &pb.Attr{Ino: 1, Mode: ModeDir | 0o755}}, nil
}

// Batch serves each item through the node's own handler, all at once.
func (n *fakeNode) Batch(ctx context.Context, req *pb.BatchRequest) (*pb.BatchReply, error) {
	n.mu.Lock()
	n.batches = append(n.batches, len(req.GetItems()))
	batching := n.batching
	n.mu.Unlock()
	if !batching {
		return nil, status.Error(codes.Unimplemented, "unknown method Batch")
	}
	results := make([]*pb.BatchResult, len(req.GetItems()))
	var wg sync.WaitGroup
	for i, it := range req.GetItems() {
		wg.Go(func() {
			var res *pb.BatchResult
			var err error
			switch c := it.GetCall().(type) {
			case *pb.BatchItem_Mutate:
				var r *pb.MutateReply
				r, err = n.Mutate(ctx, c.Mutate)
				res = &pb.BatchResult{Reply: &pb.BatchResult_Mutate{Mutate: r}}
			case *pb.BatchItem_GetAttr:
				var r *pb.AttrReply
				r, err = n.GetAttr(ctx, c.GetAttr)
				res = &pb.BatchResult{Reply: &pb.BatchResult_Attr{Attr: r}}
			default:
				err = status.Error(codes.Unimplemented, "fake: batch item")
			}
			if err != nil {
				b, _ := proto.Marshal(status.Convert(err).Proto())
				res = &pb.BatchResult{Reply: &pb.BatchResult_Error{Error: b}}
			}
			results[i] = res
		})
	}
	wg.Wait()
	return &pb.BatchReply{Results: results}, nil
}

func (n *fakeNode) ReadDir(ctx context.Context, req *pb.ReadDirRequest) (*pb.ReadDirReply, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	applied := n.readLocked(ctx, req.GetRead())
	reply := &pb.ReadDirReply{Eof: true}
	if n.onReadDir != nil {
		reply = n.onReadDir(req)
	}
	reply.Meta = n.metaLocked(applied)
	return reply, nil
}

func (n *fakeNode) Status(ctx context.Context, req *pb.StatusRequest) (*pb.StatusReply, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	nodes := n.nodes
	if nodes == nil {
		nodes = []*pb.NodeStatus{n.status()}
	}
	return &pb.StatusReply{Meta: n.metaLocked(n.applied), Nodes: nodes}, nil
}

func (n *fakeNode) status() *pb.NodeStatus {
	return &pb.NodeStatus{Name: n.name, Site: n.site, Address: n.addr, Healthy: true}
}

// set runs f with the node's lock held (hooks are read under it).
func (n *fakeNode) set(f func(n *fakeNode)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f(n)
}

func (n *fakeNode) mutations() []*pb.Command {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*pb.Command(nil), n.muts...)
}

func (n *fakeNode) readOpts() []*pb.ReadOptions {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*pb.ReadOptions(nil), n.reads...)
}

// errnoCode is the server's errno → gRPC code table (CONTRACT.md).
func errnoCode(e pb.Errno) codes.Code {
	switch e {
	case pb.Errno_ENOENT:
		return codes.NotFound
	case pb.Errno_EEXIST:
		return codes.AlreadyExists
	case pb.Errno_EPERM, pb.Errno_EACCES:
		return codes.PermissionDenied
	case pb.Errno_EINVAL, pb.Errno_ENAMETOOLONG, pb.Errno_ELOOP, pb.Errno_E2BIG, pb.Errno_ERANGE:
		return codes.InvalidArgument
	case pb.Errno_ENOTEMPTY, pb.Errno_ENOTDIR, pb.Errno_EISDIR, pb.Errno_EXDEV, pb.Errno_EMLINK,
		pb.Errno_EBUSY, pb.Errno_ENODATA:
		return codes.FailedPrecondition
	case pb.Errno_EAGAIN:
		return codes.Unavailable
	case pb.Errno_ETIMEDOUT:
		return codes.DeadlineExceeded
	case pb.Errno_ENOSPC:
		return codes.ResourceExhausted
	case pb.Errno_ENOSYS, pb.Errno_ENOTSUP:
		return codes.Unimplemented
	}
	return codes.Internal
}

// errnoStatus builds the status the server sends for a domain error.
func errnoStatus(e pb.Errno, msg string) error {
	return infoStatus(errnoCode(e), e.String(), msg, map[string]string{"errno": strconv.Itoa(int(e))})
}

// infoStatus builds a status with a geomds ErrorInfo.
func infoStatus(code codes.Code, reason, msg string, md map[string]string) error {
	st, err := status.New(code, msg).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: errstatus.Domain, Metadata: md})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

// newTestClient connects to nodes with short timeouts suited to tests.
func newTestClient(t *testing.T, cfg Config, nodes ...*fakeNode) *Client {
	t.Helper()
	for _, n := range nodes {
		cfg.Endpoints = append(cfg.Endpoints, n.addr)
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 20 * time.Second
	}
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
