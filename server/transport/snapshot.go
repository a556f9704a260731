package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// chunkSize is the data carried by one SnapshotChunk.
const chunkSize = 512 << 10

// errLinkCut: the emulated link to the receiver was cut before or while
// the snapshot was sent.
var errLinkCut = errors.New("snapshot lost: emulated link cut")

// errReceiverDone: the receiver ended the stream early; its status tells
// whether it took the message.
var errReceiverDone = fmt.Errorf("snapshot receiver ended the stream: %w", io.EOF)

// sendSnapshot streams m and the shard's state to m.To in its own goroutine,
// then reports the outcome to raft.
func (t *Transport) sendSnapshot(shard uint64, m *raftpb.Message) {
	to := m.GetTo()
	started := t.goTracked(func() {
		err := t.streamSnapshot(t.ctx, shard, m)
		if err != nil {
			t.log.Warn("snapshot send failed", "shard", shard, "to", to, "err", err)
		}
		t.cfg.Handler.ReportSnapshot(shard, to, err == nil)
	})
	if !started {
		t.cfg.Handler.ReportSnapshot(shard, to, false)
	}
}

func (t *Transport) streamSnapshot(ctx context.Context, shard uint64, m *raftpb.Message) error {
	to := m.GetTo()
	if err := sleep(ctx, t.link(to).Delay); err != nil {
		return err
	}
	if t.link(to).Cut {
		return errLinkCut
	}
	addr, ok := t.cfg.Resolve(to)
	if !ok {
		return fmt.Errorf("no address for node %d", to)
	}
	conn, err := dial(addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := pb.NewPeerClient(conn).Snapshot(ctx)
	if err != nil {
		return err
	}
	head, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	w := &chunkWriter{send: func(c *pb.SnapshotChunk) error {
		if t.link(to).Cut {
			return errLinkCut // cancel (deferred) tells the receiver the data is incomplete
		}
		c.Shard = shard
		if err := stream.Send(c); err != nil {
			return errReceiverDone // the real status comes from CloseAndRecv
		}
		return nil
	}}
	werr := w.send(&pb.SnapshotChunk{Message: head})
	if werr == nil {
		werr = t.cfg.Handler.WriteSnapshot(shard, w)
	}
	if werr == nil {
		werr = w.finish()
	}
	if werr != nil && !errors.Is(werr, io.EOF) {
		return werr // cancel (deferred) tells the receiver the data is incomplete
	}
	_, err = stream.CloseAndRecv()
	return err
}

// chunkWriter cuts the state stream into SnapshotChunks.
type chunkWriter struct {
	send func(*pb.SnapshotChunk) error
	buf  []byte
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(chunkSize-len(w.buf), len(p))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == chunkSize {
			if err := w.flush(false); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// flush sends the buffered data; a sent message is never modified again.
func (w *chunkWriter) flush(last bool) error {
	c := &pb.SnapshotChunk{Data: w.buf, Last: last}
	w.buf = nil
	return w.send(c)
}

func (w *chunkWriter) finish() error { return w.flush(true) }

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
