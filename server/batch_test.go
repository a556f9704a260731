package server_test

import (
	"context"
	"testing"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/geomds/geomds/proto/errstatus"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/rpc"
	"github.com/geomds/geomds/server/servertest"
)

// itemErrno is the errno of a failed batch item, OK when it did not fail.
func itemErrno(t *testing.T, r *pb.BatchResult) pb.Errno {
	t.Helper()
	b := r.GetError()
	if b == nil {
		return pb.Errno_OK
	}
	sp := &spb.Status{}
	if err := proto.Unmarshal(b, sp); err != nil {
		t.Fatal(err)
	}
	e, ok := errstatus.Errno(errstatus.Info(status.FromProto(sp)))
	if !ok {
		t.Fatalf("item failed without an errno: %v", status.FromProto(sp).Err())
	}
	return e
}

func mkdirItem(client, seq uint64, path string) *pb.BatchItem {
	return &pb.BatchItem{Call: &pb.BatchItem_Mutate{Mutate: &pb.MutateRequest{Command: &pb.Command{
		ClientId: client, Seq: seq, Creds: &pb.Creds{},
		Op: &pb.Command_Mkdir{Mkdir: &pb.Mkdir{Loc: &pb.Loc{Path: path}, Mode: 0o755}}}}}}
}

// TestBatchItems: every item of a Batch is answered as its own call would
// be: a mutation's result, its errno, a read's attributes, exactly-once
// for a retried command; a malformed item fails alone, too many items
// fail the call.
func TestBatchItems(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leader := c.Endpoints()[c.WaitLeader()]
	conn, err := grpc.NewClient(leader, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ns := pb.NewNamespaceClient(conn)
	first, err := ns.Mutate(ctx, &pb.MutateRequest{Command: mkdirItem(7, 1, "/exists").GetMutate().GetCommand()})
	if err != nil {
		t.Fatal(err)
	}
	strong := &pb.ReadOptions{Creds: &pb.Creds{}}
	reply, err := ns.Batch(ctx, &pb.BatchRequest{Items: []*pb.BatchItem{
		mkdirItem(7, 2, "/new"),
		mkdirItem(7, 3, "/exists"),
		mkdirItem(7, 1, "/exists"), // a retry of the first mkdir
		{Call: &pb.BatchItem_GetAttr{GetAttr: &pb.GetAttrRequest{Read: strong, Path: "/exists"}}},
		{Call: &pb.BatchItem_Lookup{Lookup: &pb.LookupRequest{Read: strong, Parent: 1, Name: "missing"}}},
		{},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := reply.GetResults()
	if len(r) != 6 {
		t.Fatalf("%d results for 6 items", len(r))
	}
	want := []pb.Errno{pb.Errno_OK, pb.Errno_EEXIST, pb.Errno_OK, pb.Errno_OK, pb.Errno_ENOENT, pb.Errno_EINVAL}
	for i, w := range want {
		if got := itemErrno(t, r[i]); got != w {
			t.Fatalf("item %d: %v, want %v", i, got, w)
		}
	}
	if r[0].GetMutate().GetResult().GetAttr().GetIno() == 0 || r[0].GetMutate().GetMeta().GetNode() == "" {
		t.Fatalf("mkdir /new answered %v", r[0])
	}
	if got, want := r[2].GetMutate().GetResult().GetAttr().GetIno(), first.GetResult().GetAttr().GetIno(); got != want {
		t.Fatalf("retried mkdir answered inode %d, the first answer was %d", got, want)
	}
	if got, want := r[3].GetAttr().GetAttr().GetIno(), first.GetResult().GetAttr().GetIno(); got != want {
		t.Fatalf("getattr /exists: inode %d, want %d", got, want)
	}
	if r[3].GetAttr().GetMeta().GetServerNs() <= 0 {
		t.Fatal("a batch item's meta has no server time")
	}
	_, err = ns.Batch(ctx, &pb.BatchRequest{Items: make([]*pb.BatchItem, rpc.MaxBatchItems+1)})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("batch of %d items: %v, want InvalidArgument", rpc.MaxBatchItems+1, err)
	}
}
