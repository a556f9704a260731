package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"time"

	"github.com/geomds/geomds/chunkstore"
	"github.com/geomds/geomds/proto/chunksum"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// Chunk sizes by file offset. A layout holds at most 65,536 extents (the
// namespace's bound, which keeps a file's layout a few megabytes and the
// commands that rewrite it short), one per chunk for a file written in
// order: with 4 MiB chunks alone no file could grow past 256 GiB. So the
// chunks a writer cuts grow with the offset, 4 MiB in a file's first
// 16 GiB, 16 MiB up to 256 GiB and 64 MiB beyond, which takes a file
// written in order to about 3 TiB while small and middling files keep
// small chunks. The tier bounds are multiples of every size, so a writer
// that starts at 0 cuts chunks aligned to their size.
const (
	midChunkSize  = 16 << 20
	bigChunkSize  = 64 << 20
	midChunksFrom = 16 << 30
	bigChunksFrom = 256 << 30
)

// chunkSizeAt is the size of a chunk a writer cuts starting at file
// offset off.
func chunkSizeAt(off int64) int {
	switch {
	case off < midChunksFrom:
		return ChunkSize
	case off < bigChunksFrom:
		return midChunkSize
	}
	return bigChunkSize
}

// Chunk transfer (service Chunks, proto/chunk.proto). Every node serves its
// own site's blob store, so a chunk is written through a node at the
// client's site and read through a node at a site its ChunkRef lists
// (unless the client has its site's store itself: chunkdirect.go).

const (
	// ChunkSize is the size of the chunks a File cuts its writes into in
	// the first 16 GiB of a file (chunkSizeAt).
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

// transferTimeout bounds one attempt to move n bytes.
func (c *Client) transferTimeout(n int) time.Duration {
	return c.cfg.AttemptTimeout + time.Duration(n>>20)*transferGrace
}

// putChunkAs uploads data as chunk id, into the client's site store when
// it has one (chunkdirect.go), else through the nearest node (the client's
// own site first), and returns its record. A retry of a failed upload keeps
// its ID (the layout being built already names it); Put is idempotent per
// ID, so a failed attempt is retried on the next node.
func (c *Client) putChunkAs(ctx context.Context, id string, data []byte) (*pb.ChunkRef, error) {
	if c.cfg.ChunkStore != nil {
		if ref, err := c.putDirect(ctx, id, data); err == nil {
			return ref, nil
		}
	}
	sum := chunksum.Of(data)
	var site string
	err := c.invoke(ctx, "ChunkPut", readCall, func(ctx context.Context, ep *endpoint) (*pb.ReplyMeta, error) {
		ctx, cancel := context.WithTimeout(ctx, c.transferTimeout(len(data)))
		defer cancel()
		reply, err := putStream(ctx, pb.NewChunksClient(ep.conn), id, sum, data)
		site = reply.GetSite()
		if err == nil && site == "" {
			site = c.siteOf(ep)
		}
		return nil, err
	})
	if err != nil {
		return nil, withOp(err, "write", "chunk "+id)
	}
	return &pb.ChunkRef{Id: id, Size: uint64(len(data)), Sum: sum, Sites: []string{site}}, nil
}

// putStream sends one chunk: id, size and sum in the first message, the
// data in chunkMessageBytes pieces (handed to the transport uncopied:
// putCodec).
func putStream(ctx context.Context, cl pb.ChunksClient, id string, sum, data []byte) (*pb.PutChunkReply, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream on an early return
	stream, err := cl.Put(ctx, grpc.ForceCodecV2(chunkPutCodec))
	if err != nil {
		return nil, err
	}
	m := &pb.PutChunkRequest{Id: id, Size: uint64(len(data)), Sum: sum}
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

// getChunkData reads [off, off+length) of the chunk ref (length 0 = to the
// end) from the nearest site that holds it. A read of the whole chunk is
// checked against the sum of the record and of the serving node; a
// node that fails, lacks the chunk or sends damaged bytes is passed over
// for the next. When every source answers that it lacks the chunk, the
// error is ESTALE: the layout that named it is older than a commit that
// dropped it (content.read reloads the layout). Every other failure but the
// caller's ctx is EIO: the metadata said the chunk exists. With
// dst (room for the whole range), the data lands there (see getCodec).
func (c *Client) getChunkData(ctx context.Context, ref *pb.ChunkRef, off, length uint64, dst []byte) (chunkData, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	data, ok, err := c.getDirect(ctx, ref, off, length, dst)
	if ok && err == nil {
		return data, nil
	}
	gone := !ok || errors.Is(err, chunkstore.ErrNotFound) // every source so far lacks the chunk
	ctx = c.outgoing(ctx)
	var last error
	attempt := 0
	for round := 0; round < getRounds; round++ {
		for _, ep := range c.chunkSources(ref) {
			data, err := c.getFrom(ctx, ep, attempt, ref, off, length, dst)
			attempt++
			if err == nil {
				return data, nil
			}
			if ctx.Err() != nil {
				return nil, timeoutError(ctx, asError(err))
			}
			last = err
			gone = gone && asError(err).Errno == pb.Errno_ENOENT
		}
		if gone && attempt > 0 {
			// Deleted, not unreachable: the layout that named it is stale.
			return nil, &Error{Errno: pb.Errno_ESTALE, Op: "read", Path: "chunk " + ref.GetId(), Msg: "no site holds the chunk any more: " + errString(last)}
		}
		if !sleep(ctx, backoff(round)) {
			return nil, timeoutError(ctx, asError(last))
		}
	}
	return nil, &Error{Errno: pb.Errno_EIO, Op: "read", Path: "chunk " + ref.GetId(), Msg: errString(last)}
}

// getFrom runs one Get of ref on ep and records the outcome for routing.
func (c *Client) getFrom(ctx context.Context, ep *endpoint, n int, ref *pb.ChunkRef, off, length uint64, dst []byte) (chunkData, error) {
	want := length
	if want == 0 {
		want = ref.GetSize() - min(off, ref.GetSize())
	}
	ctx, cancel := context.WithTimeout(ctx, c.transferTimeout(int(min(want, maxChunkBytes))))
	defer cancel()
	start := time.Now()
	data, err := getStream(ctx, pb.NewChunksClient(ep.conn), ref, off, length, dst)
	c.trace(Trace{Method: "ChunkGet", Endpoint: ep.addr, Duration: time.Since(start), Attempt: n, Err: err}, nil)
	if e := asError(err); e != nil && e.code == codes.Unavailable {
		c.failed(ep, e)
	}
	return data, err
}

// getStream receives one range of a chunk, into dst if not nil, and checks
// its length and, for the whole chunk, its sums (computed as the data
// arrives).
func getStream(ctx context.Context, cl pb.ChunksClient, ref *pb.ChunkRef, off, length uint64, dst []byte) (chunkData, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var opts []grpc.CallOption
	if dst != nil {
		opts = append(opts, grpc.ForceCodecV2(newGetCodec(dst)))
	}
	stream, err := cl.Get(ctx, &pb.GetChunkRequest{Id: ref.GetId(), Offset: off, Length: length, Sites: ref.GetSites()}, opts...)
	if err != nil {
		return nil, err
	}
	first, err := stream.Recv()
	if err != nil {
		return nil, err // io.EOF here is a malformed reply
	}
	size := first.GetSize()
	want, err := readLength(ref, size, off, length, "node reports")
	if err != nil {
		return nil, err
	}
	rx := &chunkRecv{want: want}
	if off == 0 && want == size {
		if err := rx.sums.expect(ref.GetSum(), first.GetSum()); err != nil {
			return nil, fmt.Errorf("chunk %s: %w", ref.GetId(), err)
		}
	}
	if err := rx.run(stream, first); err != nil {
		return nil, fmt.Errorf("chunk %s: %w", ref.GetId(), err)
	}
	if rx.sums.active() {
		if err := rx.sums.verify(rx.nodeSum, ref.GetSum()); err != nil {
			return nil, fmt.Errorf("chunk %s: %w", ref.GetId(), err)
		}
	}
	return rx.data, nil
}

// readLength checks the size of ref's chunk as its source reports it
// (what says so) against the record and the read's offset, and returns how
// many bytes the read of [off, off+length) gets (length 0: to the end).
func readLength(ref *pb.ChunkRef, size, off, length uint64, what string) (uint64, error) {
	if size > maxChunkBytes || off > size || (ref.GetSize() != 0 && size != ref.GetSize()) {
		return 0, fmt.Errorf("chunk %s: %s %d bytes, record says %d", ref.GetId(), what, size, ref.GetSize())
	}
	if length > 0 {
		return min(size-off, length), nil
	}
	return size - off, nil
}

// chunkRecv collects the data of a Get stream. The node's sum of a whole
// chunk comes in the first message (stores that recorded it) or in the
// last (stores that compute it while they send).
type chunkRecv struct {
	want    uint64
	data    chunkData
	n       uint64 // bytes in data
	sums    sums   // of data, for a whole chunk
	nodeSum []byte
}

// run receives exactly want bytes, starting with first's.
func (rx *chunkRecv) run(stream pb.Chunks_GetClient, first *pb.GetChunkReply) error {
	for m := first; ; {
		if err := rx.add(m); err != nil {
			return err
		}
		var err error
		if m, err = stream.Recv(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
	}
	if rx.n != rx.want {
		return fmt.Errorf("stream carried %d bytes, want %d", rx.n, rx.want)
	}
	return nil
}

// add takes one message's data and sum. The data is kept as it is: the
// message owns it (unmarshalling copied it out of the transport's buffers).
func (rx *chunkRecv) add(m *pb.GetChunkReply) error {
	data := m.GetData()
	if rx.n+uint64(len(data)) > rx.want {
		return fmt.Errorf("stream longer than %d bytes", rx.want)
	}
	if s := m.GetSum(); len(s) > 0 {
		if rx.nodeSum != nil && !bytes.Equal(s, rx.nodeSum) {
			return errors.New("stream carries two different checksums")
		}
		rx.nodeSum = s
	}
	if len(data) > 0 {
		rx.data = append(rx.data, data)
		rx.n += uint64(len(data))
	}
	rx.sums.write(data)
	return nil
}

// sums computes a whole chunk's sums of every kind it is to be checked
// against (proto/chunksum): the record's, and the node's. They are of one
// kind, CRC-32C, except for chunks written before it, whose record holds a
// SHA-256 that their node may not have kept.
type sums []hash.Hash

// expect readies the sums for the record's sum and the node's first
// message's; without a sum there, the node sends a CRC-32C last.
func (ss *sums) expect(record, node []byte) error {
	if len(node) == 0 {
		node = make([]byte, chunksum.Size)
	}
	for _, want := range [][]byte{record, node} {
		if len(want) == 0 || ss.of(len(want)) != nil {
			continue
		}
		h, err := chunksum.For(want)
		if err != nil {
			return err
		}
		*ss = append(*ss, h)
	}
	return nil
}

func (ss sums) active() bool { return len(ss) > 0 }

func (ss sums) write(p []byte) {
	for _, h := range ss {
		h.Write(p)
	}
}

// of returns the hash computing sums of n bytes, or nil.
func (ss sums) of(n int) hash.Hash {
	for _, h := range ss {
		if h.Size() == n {
			return h
		}
	}
	return nil
}

// verify checks the data against the node's sum and the record's sum (the
// record's catches damage at rest on stores that compute the sum from the
// stored bytes); at least one of them must be known.
func (ss sums) verify(node, record []byte) error {
	if len(node) == 0 && len(record) == 0 {
		return errors.New("no checksum to verify a whole-chunk read")
	}
	for _, want := range [][]byte{node, record} {
		if len(want) == 0 {
			continue
		}
		h := ss.of(len(want))
		if h == nil {
			return fmt.Errorf("checksum of %d bytes not expected", len(want))
		}
		if got := h.Sum(nil); !bytes.Equal(got, want) {
			return fmt.Errorf("checksum mismatch: got %x, want %x", got, want)
		}
	}
	return nil
}

// chunkData is a range of a chunk as it arrived: the data of the reply's
// messages, in order, never joined (a join would copy every byte once more).
// Nobody writes to it.
type chunkData [][]byte

// size is the number of bytes in d.
func (d chunkData) size() uint64 {
	var n uint64
	for _, p := range d {
		n += uint64(len(p))
	}
	return n
}

// copyAt copies into dst the bytes of d from offset off on, and returns
// how many it copied.
func (d chunkData) copyAt(dst []byte, off uint64) int {
	n := 0
	for _, p := range d {
		if n == len(dst) {
			break
		}
		if off >= uint64(len(p)) {
			off -= uint64(len(p))
			continue
		}
		n += copy(dst[n:], p[off:])
		off = 0
	}
	return n
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
