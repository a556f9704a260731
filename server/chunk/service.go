package chunk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"

	"google.golang.org/grpc"

	"github.com/geomds/geomds/chunkstore"
	"github.com/geomds/geomds/proto/chunksum"
	"github.com/geomds/geomds/proto/errstatus"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// MessageSize is the most data one stream message carries (1 MiB).
const MessageSize = 1 << 20

// Service serves a Store over gRPC (service Chunks).
type Service struct {
	pb.UnimplementedChunksServer
	store *chunkstore.Store
	// Relay, when set, reads [off, off+length) of a chunk this site's store
	// lacks from a node at one of sites (length 0 = to the end), returning
	// the bytes and the chunk's size.
	Relay func(ctx context.Context, sites []string, id string, off, length uint64) ([]byte, uint64, error)
	// Refuse, when set and returning an error, refuses every upload with
	// ENOSPC and that error's text (the node is low on space).
	Refuse func() error
}

var _ pb.ChunksServer = (*Service)(nil)

// NewService returns the Chunks service of s.
func NewService(s *chunkstore.Store) *Service { return &Service{store: s} }

// Register adds the service to g.
func (v *Service) Register(g grpc.ServiceRegistrar) { pb.RegisterChunksServer(g, v) }

// Put receives one chunk and stores it after verifying size and sum.
func (v *Service) Put(stream pb.Chunks_PutServer) error {
	if v.Refuse != nil {
		if err := v.Refuse(); err != nil {
			return errstatus.New(pb.Errno_ENOSPC, "put: "+err.Error())
		}
	}
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return toStatus(fmt.Errorf("put: %w: empty stream", chunkstore.ErrInvalidID))
	}
	if err != nil {
		return err
	}
	r := &putReader{stream: stream, buf: first.GetData()}
	err = v.store.Put(stream.Context(), first.GetId(), first.GetSize(), first.GetSum(), r)
	if err != nil {
		return toStatus(err)
	}
	return stream.SendAndClose(&pb.PutChunkReply{Site: v.store.Site()})
}

// putReader reads the data of a Put stream, message after message.
type putReader struct {
	stream pb.Chunks_PutServer
	buf    []byte
}

// WriteTo hands each message's data to w as it arrives, with no copy.
func (r *putReader) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for {
		if len(r.buf) > 0 {
			k, err := w.Write(r.buf)
			n += int64(k)
			r.buf = r.buf[k:]
			if err != nil {
				return n, err
			}
		}
		m, err := r.stream.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		r.buf = m.GetData()
	}
}

func (r *putReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		m, err := r.stream.Recv()
		if err != nil {
			return 0, err // io.EOF at the end of the stream
		}
		r.buf = m.GetData()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Get streams a range of a chunk; see the package doc for the format. A
// whole-chunk reply carries the sum the store recorded in its first
// message, or else the sum of the bytes as read, in its last: hashing while
// sending reads the chunk once, and the first bytes leave at once.
func (v *Service) Get(req *pb.GetChunkRequest, stream pb.Chunks_GetServer) error {
	ctx := stream.Context()
	id, off, length := req.GetId(), req.GetOffset(), req.GetLength()
	r, size, err := v.store.Get(ctx, id, off, length)
	if errors.Is(err, chunkstore.ErrNotFound) && v.Relay != nil {
		if others := otherSites(req.GetSites(), v.store.Site()); len(others) > 0 {
			return toStatus(v.relay(stream, others, req))
		}
	}
	if err != nil {
		return toStatus(err)
	}
	defer r.Close()
	first := &pb.GetChunkReply{Size: size}
	var h hash.Hash
	if wholeRange(off, length, size) {
		if first.Sum, err = v.store.RecordedSum(ctx, id); err != nil {
			return toStatus(err)
		}
		if first.Sum == nil {
			h = chunksum.New()
		}
	}
	return toStatus(sendData(stream, first, r, h))
}

// relay streams a range read from another site, in the same format as
// from the own store; a whole chunk's sum (checked on the way in) is
// computed again as it is sent, and goes last.
func (v *Service) relay(stream pb.Chunks_GetServer, sites []string, req *pb.GetChunkRequest) error {
	off, length := req.GetOffset(), req.GetLength()
	data, size, err := v.Relay(stream.Context(), sites, req.GetId(), off, length)
	if err != nil {
		return err
	}
	var h hash.Hash
	if wholeRange(off, length, size) {
		h = chunksum.New()
	}
	return sendData(stream, &pb.GetChunkReply{Size: size}, bytes.NewReader(data), h)
}

// otherSites returns sites without own, in order, each once.
func otherSites(sites []string, own string) []string {
	var out []string
	for _, s := range sites {
		if s != own && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// wholeRange reports whether a request covers the whole chunk, the case in
// which the reply carries the sum. Client and server must agree on it.
func wholeRange(off, length, size uint64) bool {
	return off == 0 && (length == 0 || length >= size)
}

// sendData streams r in MessageSize pieces; first goes out with the first
// piece, or alone when there is no data. With h, the data is hashed on the
// way and its sum goes out in a last message of its own.
func sendData(stream pb.Chunks_GetServer, first *pb.GetChunkReply, r io.Reader, h hash.Hash) error {
	buf := make([]byte, MessageSize) // reused: Send has marshalled the data when it returns
	m := first
	for {
		n, err := io.ReadFull(r, buf)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return err
		}
		if n > 0 || m != nil {
			if m == nil {
				m = &pb.GetChunkReply{}
			}
			m.Data = buf[:n]
			if h != nil {
				h.Write(m.Data)
			}
			if serr := stream.Send(m); serr != nil {
				return serr
			}
			m = nil
		}
		if err != nil { // the end of r
			break
		}
	}
	if h == nil {
		return nil
	}
	return stream.Send(&pb.GetChunkReply{Sum: h.Sum(nil)})
}

// Delete removes a chunk; a missing chunk is not an error.
func (v *Service) Delete(ctx context.Context, req *pb.DeleteChunkRequest) (*pb.DeleteChunkReply, error) {
	if err := v.store.Delete(ctx, req.GetId()); err != nil {
		return nil, toStatus(err)
	}
	return &pb.DeleteChunkReply{}, nil
}
