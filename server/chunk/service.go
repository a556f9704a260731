package chunk

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// MessageSize is the most data one stream message carries (1 MiB).
const MessageSize = 1 << 20

// Service serves a Store over gRPC (service Chunks).
type Service struct {
	pb.UnimplementedChunksServer
	store *Store
}

var _ pb.ChunksServer = (*Service)(nil)

// NewService returns the Chunks service of s.
func NewService(s *Store) *Service { return &Service{store: s} }

// Register adds the service to g.
func (v *Service) Register(g grpc.ServiceRegistrar) { pb.RegisterChunksServer(g, v) }

// Put receives one chunk and stores it after verifying size and SHA-256.
func (v *Service) Put(stream pb.Chunks_PutServer) error {
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return toStatus(fmt.Errorf("put: %w: empty stream", ErrInvalidID))
	}
	if err != nil {
		return err
	}
	r := &putReader{stream: stream, buf: first.GetData()}
	err = v.store.Put(stream.Context(), first.GetId(), first.GetSize(), first.GetSha256(), r)
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

// Get streams a range of a chunk; see the package doc for the format.
func (v *Service) Get(req *pb.GetChunkRequest, stream pb.Chunks_GetServer) error {
	ctx := stream.Context()
	id, off, length := req.GetId(), req.GetOffset(), req.GetLength()
	info, err := v.store.Stat(ctx, id)
	if err != nil {
		return toStatus(err)
	}
	first := &pb.GetChunkReply{Size: info.Size}
	if wholeRange(off, length, info.Size) {
		if first.Sha256, err = v.sum(ctx, id, info); err != nil {
			return toStatus(err)
		}
	}
	r, _, err := v.store.open(ctx, id, off, length)
	if err != nil {
		return toStatus(err)
	}
	defer r.Close()
	return toStatus(sendData(stream, first, r))
}

// wholeRange reports whether a request covers the whole chunk, the case in
// which the reply carries the sum. Client and server must agree on it.
func wholeRange(off, length, size uint64) bool {
	return off == 0 && (length == 0 || length >= size)
}

// sum is the chunk's SHA-256: recorded at Put where the backend keeps
// metadata, otherwise computed from the stored bytes.
func (v *Service) sum(ctx context.Context, id string, info Info) ([]byte, error) {
	if info.SHA256 != nil {
		return info.SHA256, nil
	}
	r, err := v.store.Get(ctx, id, 0, 0)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", id, err)
	}
	if uint64(n) != info.Size {
		return nil, fmt.Errorf("get %s: read %d bytes of %d", id, n, info.Size)
	}
	return h.Sum(nil), nil
}

// sendData streams r in MessageSize pieces; first goes out with the first
// piece, or alone when there is no data.
func sendData(stream pb.Chunks_GetServer, first *pb.GetChunkReply, r io.Reader) error {
	buf := make([]byte, MessageSize)
	m := first
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 || m != nil {
			if m == nil {
				m = &pb.GetChunkReply{}
			}
			m.Data = buf[:n]
			if serr := stream.Send(m); serr != nil {
				return serr
			}
			m = nil
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Delete removes a chunk; a missing chunk is not an error.
func (v *Service) Delete(ctx context.Context, req *pb.DeleteChunkRequest) (*pb.DeleteChunkReply, error) {
	if err := v.store.Delete(ctx, req.GetId()); err != nil {
		return nil, toStatus(err)
	}
	return &pb.DeleteChunkReply{}, nil
}
