package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/grpc/codes"
)

// Chunk transfer (service Chunks, proto/chunk.proto). Every node serves its
// own site's blob store, so a chunk is written through a node at the
// client's site and read through a node at a site its ChunkRef lists.

const (
	// ChunkSize is the size of the chunks a File cuts its writes into.
	ChunkSize = 4 << 20
	// chunkMessageBytes is the most data one Put message carries (the
	// server's MessageSize).
	chunkMessageBytes = 1 << 20
	// maxChunkBytes is the largest chunk the server stores; a reply
	// announcing more is bogus.
	maxChunkBytes = 64 << 20
	// transferGrace is added to AttemptTimeout per MiB moved, so a large
	// transfer on a slow link is not cut off as a hung node.
	transferGrace = time.Second
	// getRounds bounds the passes over a chunk's sources.
	getRounds = 3
)

// newChunkID returns a fresh chunk ID: 128 random bits as 32 hex digits.
// IDs are never content hashes: chunks are deleted by reference count per
// ID, so two uploads of equal bytes must not share one.
func newChunkID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// transferTimeout bounds one attempt to move n bytes.
func (c *Client) transferTimeout(n int) time.Duration {
	return c.cfg.AttemptTimeout + time.Duration(n>>20)*transferGrace
}

// putChunk uploads data as a new chunk through the nearest node (the
// client's own site first) and returns its record, naming the site that
// stored it. Put is idempotent per ID, so a failed attempt is retried on the
// next node.
func (c *Client) putChunk(ctx context.Context, data []byte) (*pb.ChunkRef, error) {
	id := newChunkID()
	sum := sha256.Sum256(data)
	var site string
	err := c.invoke(ctx, "ChunkPut", readCall, func(ctx context.Context, ep *endpoint) (*pb.ReplyMeta, error) {
		ctx, cancel := context.WithTimeout(ctx, c.transferTimeout(len(data)))
		defer cancel()
		reply, err := putStream(ctx, pb.NewChunksClient(ep.conn), id, sum[:], data)
		site = reply.GetSite()
		if err == nil && site == "" {
			site = c.siteOf(ep)
		}
		return nil, err
	})
	if err != nil {
		return nil, withOp(err, "write", "chunk "+id)
	}
	return &pb.ChunkRef{Id: id, Size: uint64(len(data)), Sha256: sum[:], Sites: []string{site}}, nil
}

// putStream sends one chunk: id, size and sum in the first message, the
// data in chunkMessageBytes pieces.
func putStream(ctx context.Context, cl pb.ChunksClient, id string, sum, data []byte) (*pb.PutChunkReply, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream on an early return
	stream, err := cl.Put(ctx)
	if err != nil {
		return nil, err
	}
	m := &pb.PutChunkRequest{Id: id, Size: uint64(len(data)), Sha256: sum}
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), chunkMessageBytes)
		m.Data, data = data[:n], data[n:]
		if err := stream.Send(m); err != nil {
			break // the server ended the stream; CloseAndRecv has its status
		}
		m = &pb.PutChunkRequest{}
	}
	return stream.CloseAndRecv()
}

// siteOf returns the site learnt for ep ("" when unknown).
func (c *Client) siteOf(ep *endpoint) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ep.site
}

// chunkSources orders the endpoints that may serve ref: nodes at a site
// the record lists, nearest first, then nodes whose site is not known yet.
// Nodes known to be elsewhere are left out (their store lacks the chunk),
// unless that leaves nothing to try.
func (c *Client) chunkSources(ref *pb.ChunkRef) []*endpoint {
	eps := c.order(false)
	var listed, unknown []*endpoint
	for _, ep := range eps {
		switch site := c.siteOf(ep); {
		case site == "":
			unknown = append(unknown, ep)
		case slices.Contains(ref.GetSites(), site):
			listed = append(listed, ep)
		}
	}
	if out := append(listed, unknown...); len(out) > 0 {
		return out
	}
	return eps
}

// getChunk reads [off, off+length) of the chunk ref (length 0 = to the
// end) from the nearest site that holds it. A read of the whole chunk is
// checked against the SHA-256 of the record and of the serving node; a
// node that fails, lacks the chunk or sends damaged bytes is passed over
// for the next. Every failure but the caller's ctx is EIO: the metadata
// says the chunk exists, so not finding it is lost data, not ENOENT.
func (c *Client) getChunk(ctx context.Context, ref *pb.ChunkRef, off, length uint64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	ctx = c.outgoing(ctx)
	var last error
	attempt := 0
	for round := 0; round < getRounds; round++ {
		for _, ep := range c.chunkSources(ref) {
			data, err := c.getFrom(ctx, ep, attempt, ref, off, length)
			attempt++
			if err == nil {
				return data, nil
			}
			if ctx.Err() != nil {
				return nil, timeoutError(ctx, asError(err))
			}
			last = err
		}
		if !sleep(ctx, backoff(round)) {
			return nil, timeoutError(ctx, asError(last))
		}
	}
	return nil, &Error{Errno: pb.Errno_EIO, Op: "read", Path: "chunk " + ref.GetId(), Msg: errString(last)}
}

// getFrom runs one Get of ref on ep and records the outcome for routing.
func (c *Client) getFrom(ctx context.Context, ep *endpoint, n int, ref *pb.ChunkRef, off, length uint64) ([]byte, error) {
	want := length
	if want == 0 {
		want = ref.GetSize() - min(off, ref.GetSize())
	}
	ctx, cancel := context.WithTimeout(ctx, c.transferTimeout(int(min(want, maxChunkBytes))))
	defer cancel()
	start := time.Now()
	data, err := getStream(ctx, pb.NewChunksClient(ep.conn), ref, off, length)
	c.trace(Trace{Method: "ChunkGet", Endpoint: ep.addr, Duration: time.Since(start), Attempt: n, Err: err}, nil)
	if e := asError(err); e != nil && e.code == codes.Unavailable {
		c.failed(ep, e)
	}
	return data, err
}

// getStream receives one range of a chunk and checks its length and, for
// the whole chunk, its SHA-256.
func getStream(ctx context.Context, cl pb.ChunksClient, ref *pb.ChunkRef, off, length uint64) ([]byte, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := cl.Get(ctx, &pb.GetChunkRequest{Id: ref.GetId(), Offset: off, Length: length})
	if err != nil {
		return nil, err
	}
	first, err := stream.Recv()
	if err != nil {
		return nil, err // io.EOF here is a malformed reply
	}
	size := first.GetSize()
	if size > maxChunkBytes || off > size || (ref.GetSize() != 0 && size != ref.GetSize()) {
		return nil, fmt.Errorf("chunk %s: node reports %d bytes, record says %d", ref.GetId(), size, ref.GetSize())
	}
	want := size - off
	if length > 0 {
		want = min(want, length)
	}
	data, err := recvChunk(stream, first.GetData(), want)
	if err != nil {
		return nil, fmt.Errorf("chunk %s: %w", ref.GetId(), err)
	}
	if off == 0 && want == size {
		if err := verifySum(data, first.GetSha256(), ref.GetSha256()); err != nil {
			return nil, fmt.Errorf("chunk %s: %w", ref.GetId(), err)
		}
	}
	return data, nil
}

// recvChunk collects exactly want bytes from the rest of a Get stream.
func recvChunk(stream pb.Chunks_GetClient, data []byte, want uint64) ([]byte, error) {
	buf := make([]byte, 0, want)
	for {
		if uint64(len(buf))+uint64(len(data)) > want {
			return nil, fmt.Errorf("stream longer than %d bytes", want)
		}
		buf = append(buf, data...)
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		data = m.GetData()
	}
	if uint64(len(buf)) != want {
		return nil, fmt.Errorf("stream carried %d bytes, want %d", len(buf), want)
	}
	return buf, nil
}

// verifySum checks data against the node's sum and the record's sum (the
// record's catches damage at rest on stores that recompute the sum).
func verifySum(data, node, record []byte) error {
	got := sha256.Sum256(data)
	if len(node) == 0 && len(record) == 0 {
		return errors.New("no checksum to verify a whole-chunk read")
	}
	for _, want := range [][]byte{node, record} {
		if len(want) > 0 && !bytes.Equal(got[:], want) {
			return fmt.Errorf("checksum mismatch: got %x, want %x", got, want)
		}
	}
	return nil
}

// asError maps a transfer error to an *Error (nil for nil).
func asError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return fromStatus(err)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
