package chunk

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"

	"github.com/geomds/geomds/chunkstore"
	"github.com/geomds/geomds/proto/chunksum"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// PutRemote uploads data as chunk id to the Chunks service on cc: the first
// message carries id, size and sum, data follows in MessageSize pieces.
func PutRemote(ctx context.Context, cc grpc.ClientConnInterface, id string, data []byte) error {
	if len(data) > chunkstore.MaxChunkSize {
		return fmt.Errorf("put %s: %w: %d bytes", id, chunkstore.ErrTooLarge, len(data))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream if we return early
	stream, err := pb.NewChunksClient(cc).Put(ctx)
	if err != nil {
		return fromStatus("put", id, err)
	}
	m := &pb.PutChunkRequest{Id: id, Size: uint64(len(data)), Sum: chunksum.Of(data)}
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), MessageSize)
		m.Data, data = data[:n], data[n:]
		if err := stream.Send(m); err != nil {
			break // the server ended the stream; CloseAndRecv has its status
		}
		m = &pb.PutChunkRequest{}
	}
	_, err = stream.CloseAndRecv()
	return fromStatus("put", id, err)
}

// GetRemote reads [off, off+length) of chunk id from the Chunks service on
// cc (length 0 = to the end) and returns the bytes and the chunk's size.
// It checks that the stream carried every byte of the range and, when the
// range is the whole chunk, its sum (sent in the first message or in the
// last).
func GetRemote(ctx context.Context, cc grpc.ClientConnInterface, id string, off, length uint64) ([]byte, uint64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := pb.NewChunksClient(cc).Get(ctx, &pb.GetChunkRequest{Id: id, Offset: off, Length: length})
	if err != nil {
		return nil, 0, fromStatus("get", id, err)
	}
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return nil, 0, fmt.Errorf("get %s: empty reply stream", id)
	}
	if err != nil {
		return nil, 0, fromStatus("get", id, err)
	}
	want, err := replyLen(first.GetSize(), off, length)
	if err != nil {
		return nil, 0, fmt.Errorf("get %s: %w", id, err)
	}
	data, sum, err := recvData(stream, id, first, want)
	if err != nil {
		return nil, 0, err
	}
	if wholeRange(off, length, first.GetSize()) {
		if err := chunksum.Verify(data, sum); err != nil {
			return nil, 0, fmt.Errorf("get %s: %w: %v", id, chunkstore.ErrChecksum, err)
		}
	}
	return data, first.GetSize(), nil
}

// replyLen is how many bytes a Get of [off, off+length) of a chunk of size
// bytes returns.
func replyLen(size, off, length uint64) (uint64, error) {
	if size > chunkstore.MaxChunkSize {
		return 0, fmt.Errorf("%w: server reports %d bytes", chunkstore.ErrTooLarge, size)
	}
	if off > size {
		return 0, fmt.Errorf("%w: offset %d, size %d", chunkstore.ErrRange, off, size)
	}
	n := size - off
	if length > 0 && length < n {
		n = length
	}
	return n, nil
}

// recvData collects the data of a Get stream, which must be exactly want
// bytes, and the sum it carries (nil if none), starting with first.
func recvData(stream pb.Chunks_GetClient, id string, first *pb.GetChunkReply, want uint64) ([]byte, []byte, error) {
	buf := make([]byte, 0, want)
	var sum []byte
	for m := first; ; {
		if uint64(len(buf)+len(m.GetData())) > want {
			return nil, nil, fmt.Errorf("get %s: %w: more than %d bytes", id, chunkstore.ErrSize, want)
		}
		buf = append(buf, m.GetData()...)
		if len(m.GetSum()) > 0 {
			sum = m.GetSum()
		}
		var err error
		if m, err = stream.Recv(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, nil, fromStatus("get", id, err)
		}
	}
	if uint64(len(buf)) != want {
		return nil, nil, fmt.Errorf("get %s: %w: got %d bytes, want %d", id, chunkstore.ErrSize, len(buf), want)
	}
	return buf, sum, nil
}

// DeleteRemote deletes chunk id at the Chunks service on cc; a missing
// chunk is not an error.
func DeleteRemote(ctx context.Context, cc grpc.ClientConnInterface, id string) error {
	_, err := pb.NewChunksClient(cc).Delete(ctx, &pb.DeleteChunkRequest{Id: id})
	return fromStatus("delete", id, err)
}
