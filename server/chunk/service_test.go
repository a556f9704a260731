package chunk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/geomds/geomds/chunkstore"
	"github.com/geomds/geomds/chunkstore/chunkstoretest"
	"github.com/geomds/geomds/proto/chunksum"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// serve runs srv on a loopback TCP port and returns a connection to it.
func serve(t *testing.T, srv pb.ChunksServer) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	pb.RegisterChunksServer(g, srv)
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Serve(lis) }()
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cc.Close()
		g.Stop()
		<-done
	})
	return cc
}

func TestService(t *testing.T) {
	stores := map[string]func(t *testing.T) *chunkstore.Store{
		"file": func(t *testing.T) *chunkstore.Store {
			return chunkstoretest.Open(t, chunkstoretest.FileURL(filepath.Join(t.TempDir(), "c")))
		},
		"mem": func(t *testing.T) *chunkstore.Store { return chunkstoretest.Open(t, "mem://") },
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			for _, tc := range serviceCases {
				t.Run(tc.name, func(t *testing.T) {
					s := open(t)
					tc.fn(t, s, serve(t, NewService(s)))
				})
			}
		})
	}
}

var serviceCases = []struct {
	name string
	fn   func(t *testing.T, s *chunkstore.Store, cc *grpc.ClientConn)
}{
	{"RoundTrip", testRemoteRoundTrip},
	{"Messages", testRemoteMessages},
	{"CorruptPut", testRemoteCorruptPut},
	{"ShortPut", testRemoteShortPut},
	{"Errors", testRemoteErrors},
}

func testRemoteRoundTrip(t *testing.T, s *chunkstore.Store, cc *grpc.ClientConn) {
	ctx := chunkstoretest.Ctx(t)
	data := chunkstoretest.RandomBytes(10, 2*MessageSize+12345)
	id := chunkstore.NewID()
	if err := PutRemote(ctx, cc, id, data); err != nil {
		t.Fatalf("PutRemote: %v", err)
	}
	if got := chunkstoretest.Get(t, s, id, 0, 0); !bytes.Equal(got, data) {
		t.Fatalf("the store holds other bytes than were sent")
	}
	for _, r := range []struct{ off, length, from, to uint64 }{
		{0, 0, 0, uint64(len(data))},
		{0, uint64(len(data)), 0, uint64(len(data))},
		{MessageSize - 3, 10, MessageSize - 3, MessageSize + 7},
		{100, MessageSize * 3, 100, uint64(len(data))},
		{uint64(len(data)), 0, uint64(len(data)), uint64(len(data))},
	} {
		got, _, err := GetRemote(ctx, cc, id, r.off, r.length)
		if err != nil || !bytes.Equal(got, data[r.from:r.to]) {
			t.Fatalf("GetRemote(%d, %d) = %d bytes, %v; want data[%d:%d]", r.off, r.length, len(got), err, r.from, r.to)
		}
	}
	if err := PutRemote(ctx, cc, chunkstore.NewID(), nil); err != nil {
		t.Fatalf("PutRemote of an empty chunk: %v", err)
	}
	if err := DeleteRemote(ctx, cc, id); err != nil {
		t.Fatalf("DeleteRemote: %v", err)
	}
	chunkstoretest.Absent(t, s, id)
	if err := DeleteRemote(ctx, cc, id); err != nil {
		t.Fatalf("DeleteRemote of a missing chunk: %v", err)
	}
}

// testRemoteMessages checks the wire format itself with the raw stub, as a
// client written against the generated code sees it.
func testRemoteMessages(t *testing.T, s *chunkstore.Store, cc *grpc.ClientConn) {
	data := chunkstoretest.RandomBytes(11, 2*MessageSize+1)
	id := chunkstore.NewID()
	chunkstoretest.Put(t, s, id, data)
	msgs := rawGet(t, cc, &pb.GetChunkRequest{Id: id})
	sumMsg, dataMsgs := splitSum(t, msgs)
	if len(dataMsgs) != 3 {
		t.Fatalf("whole read took %d data messages, want 3 of at most 1 MiB", len(dataMsgs))
	}
	if msgs[0].GetSize() != uint64(len(data)) || !bytes.Equal(sumMsg.GetSum(), chunksum.Of(data)) {
		t.Fatalf("size %d sum %x; want %d %x", msgs[0].GetSize(), sumMsg.GetSum(), len(data), chunksum.Of(data))
	}
	var got []byte
	for _, m := range msgs {
		if len(m.GetData()) > MessageSize {
			t.Fatalf("message of %d bytes", len(m.GetData()))
		}
		got = append(got, m.GetData()...)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("streamed data differs")
	}
	part := rawGet(t, cc, &pb.GetChunkRequest{Id: id, Offset: 5, Length: 10})
	if len(part) != 1 || part[0].GetSize() != uint64(len(data)) || part[0].GetSum() != nil ||
		!bytes.Equal(part[0].GetData(), data[5:15]) {
		t.Fatalf("partial read: %d messages, first %+v", len(part), part[0])
	}
}

// splitSum finds the message of a whole-chunk reply that carries the sum:
// the first one when the store recorded it, else a last one without data
// (the sum of the bytes as read). It returns it and the data messages.
func splitSum(t *testing.T, msgs []*pb.GetChunkReply) (*pb.GetChunkReply, []*pb.GetChunkReply) {
	t.Helper()
	if msgs[0].GetSum() != nil {
		return msgs[0], msgs
	}
	last := msgs[len(msgs)-1]
	if len(msgs) < 2 || len(last.GetData()) > 0 || last.GetSum() == nil {
		t.Fatalf("reply of %d messages has no sum first nor a last sum-only message", len(msgs))
	}
	return last, msgs[:len(msgs)-1]
}

func rawGet(t *testing.T, cc *grpc.ClientConn, req *pb.GetChunkRequest) []*pb.GetChunkReply {
	t.Helper()
	stream, err := pb.NewChunksClient(cc).Get(chunkstoretest.Ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []*pb.GetChunkReply
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return msgs
		}
		if err != nil {
			t.Fatalf("Get stream: %v", err)
		}
		msgs = append(msgs, m)
	}
}

// rawPut sends msgs as one Put stream and returns the reply's error.
func rawPut(t *testing.T, cc *grpc.ClientConn, msgs ...*pb.PutChunkRequest) error {
	t.Helper()
	stream, err := pb.NewChunksClient(cc).Put(chunkstoretest.Ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			break
		}
	}
	_, err = stream.CloseAndRecv()
	return err
}

func wantErrno(t *testing.T, err error, code codes.Code, reason string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code {
		t.Fatalf("status %v, want %v", err, code)
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() == reason && info.GetDomain() == "geomds" {
			return
		}
	}
	t.Fatalf("status %v lacks ErrorInfo reason %s", err, reason)
}

func testRemoteCorruptPut(t *testing.T, s *chunkstore.Store, cc *grpc.ClientConn) {
	data := chunkstoretest.RandomBytes(12, MessageSize+100)
	id := chunkstore.NewID()
	bad := append([]byte(nil), data...)
	bad[MessageSize+50] ^= 4
	err := rawPut(t, cc,
		&pb.PutChunkRequest{Id: id, Size: uint64(len(data)), Sum: chunksum.Of(data), Data: bad[:MessageSize]},
		&pb.PutChunkRequest{Data: bad[MessageSize:]})
	wantErrno(t, err, codes.InvalidArgument, "EINVAL")
	chunkstoretest.Absent(t, s, id)
}

func testRemoteShortPut(t *testing.T, s *chunkstore.Store, cc *grpc.ClientConn) {
	data := chunkstoretest.RandomBytes(13, 1000)
	id := chunkstore.NewID()
	err := rawPut(t, cc, &pb.PutChunkRequest{Id: id, Size: 2000, Sum: chunksum.Of(data), Data: data})
	wantErrno(t, err, codes.InvalidArgument, "EINVAL")
	chunkstoretest.Absent(t, s, id)
	err = rawPut(t, cc, &pb.PutChunkRequest{Id: id, Size: 500, Sum: chunksum.Of(data[:500]), Data: data})
	wantErrno(t, err, codes.InvalidArgument, "EINVAL")
	chunkstoretest.Absent(t, s, id)
	wantErrno(t, rawPut(t, cc), codes.InvalidArgument, "EINVAL")
}

func testRemoteErrors(t *testing.T, s *chunkstore.Store, cc *grpc.ClientConn) {
	ctx := chunkstoretest.Ctx(t)
	id := chunkstore.NewID()
	_, _, err := GetRemote(ctx, cc, id, 0, 0)
	if !errors.Is(err, chunkstore.ErrNotFound) {
		t.Fatalf("GetRemote of a missing chunk = %v, want chunkstore.ErrNotFound", err)
	}
	wantErrno(t, err, codes.NotFound, "ENOENT")
	_, err = pb.NewChunksClient(cc).Delete(ctx, &pb.DeleteChunkRequest{Id: "../etc"})
	wantErrno(t, err, codes.InvalidArgument, "EINVAL")
	chunkstoretest.Put(t, s, id, []byte("abc"))
	_, _, err = GetRemote(ctx, cc, id, 4, 0)
	if status.Code(err) != codes.InvalidArgument || !errors.Is(err, errRemoteInvalid) {
		t.Fatalf("GetRemote past the end = %v, want InvalidArgument", err)
	}
}

// lyingServer answers Get with data that does not match what it claims.
type lyingServer struct {
	pb.UnimplementedChunksServer
	data []byte
	size uint64
	sum  []byte
}

func (l *lyingServer) Get(req *pb.GetChunkRequest, stream pb.Chunks_GetServer) error {
	return stream.Send(&pb.GetChunkReply{Size: l.size, Sum: l.sum, Data: l.data})
}

// TestGetRemoteVerifies checks the client side: a whole read whose bytes do
// not hash to the announced sum, and a stream that ends early or runs long,
// are errors, not data.
func TestGetRemoteVerifies(t *testing.T) {
	ctx := chunkstoretest.Ctx(t)
	data := []byte("the quick brown fox")
	corrupt := []byte("the quick brown fix")
	for _, tc := range []struct {
		name string
		srv  *lyingServer
		off  uint64
		want error
	}{
		{"corrupt", &lyingServer{data: corrupt, size: uint64(len(data)), sum: chunksum.Of(data)}, 0, chunkstore.ErrChecksum},
		{"no sum", &lyingServer{data: data, size: uint64(len(data))}, 0, chunkstore.ErrChecksum},
		{"short", &lyingServer{data: data[:5], size: uint64(len(data)), sum: chunksum.Of(data)}, 0, chunkstore.ErrSize},
		{"long", &lyingServer{data: data, size: 5, sum: chunksum.Of(data[:5])}, 0, chunkstore.ErrSize},
		{"short range", &lyingServer{data: data[3:6], size: uint64(len(data))}, 3, chunkstore.ErrSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := GetRemote(ctx, serve(t, tc.srv), "x", tc.off, 0)
			if !errors.Is(err, tc.want) {
				t.Fatalf("GetRemote = %q, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestRelay: a Get of a chunk the store lacks is relayed from the sites
// the request names, other than the store's own; without such a site it is
// NotFound as before.
func TestRelay(t *testing.T) {
	s := chunkstoretest.Open(t, "mem://")
	data := chunkstoretest.RandomBytes(23, MessageSize+9)
	var asked []string
	v := NewService(s)
	v.Relay = func(_ context.Context, sites []string, id string, off, length uint64) ([]byte, uint64, error) {
		asked = sites
		end := uint64(len(data))
		if length > 0 {
			end = min(end, off+length)
		}
		return data[off:end], uint64(len(data)), nil
	}
	cc := serve(t, v)
	own := s.Site()
	for _, sites := range [][]string{nil, {own}} {
		stream, err := pb.NewChunksClient(cc).Get(chunkstoretest.Ctx(t), &pb.GetChunkRequest{Id: chunkstore.NewID(), Sites: sites})
		if err == nil {
			_, err = stream.Recv()
		}
		if status.Code(err) != codes.NotFound {
			t.Fatalf("sites %v: %v, want NotFound", sites, err)
		}
	}
	if asked != nil {
		t.Fatalf("relay asked %v without another site", asked)
	}
	msgs := rawGet(t, cc, &pb.GetChunkRequest{Id: chunkstore.NewID(), Sites: []string{own, "far", "far"}})
	var got []byte
	for _, m := range msgs {
		got = append(got, m.GetData()...)
	}
	last := msgs[len(msgs)-1]
	if !bytes.Equal(got, data) || !bytes.Equal(last.GetSum(), chunksum.Of(data)) || msgs[0].GetSize() != uint64(len(data)) {
		t.Fatalf("relayed %d bytes, size %d, last sum %x; want %d bytes and their sum", len(got), msgs[0].GetSize(), last.GetSum(), len(data))
	}
	if !slices.Equal(asked, []string{"far"}) {
		t.Fatalf("relay asked %v, want [far]", asked)
	}
	part := rawGet(t, cc, &pb.GetChunkRequest{Id: chunkstore.NewID(), Offset: 5, Length: 10, Sites: []string{"far"}})
	if len(part) != 1 || !bytes.Equal(part[0].GetData(), data[5:15]) || part[0].GetSum() != nil {
		t.Fatalf("relayed range: %d messages, want one with data[5:15] and no sum", len(part))
	}
}
