package transport

import (
	"context"
	"fmt"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

const (
	queueLen      = 4096    // messages queued per destination
	maxBatchMsgs  = 1024    // messages per stream write
	maxBatchBytes = 2 << 20 // bytes per stream write (one message may exceed it)
	minBackoff    = 50 * time.Millisecond
	maxBackoff    = time.Second
)

// outMsg is one queued message and when the WAN emulation releases it.
type outMsg struct {
	shard   uint64
	m       *raftpb.Message
	release time.Time // zero: no delay
}

// peer sends to one destination node. Everything but q is owned by run.
type peer struct {
	t  *Transport
	id uint64
	q  chan outMsg // bound queueLen

	conn        *grpc.ClientConn
	addr        string
	stream      grpc.ClientStreamingClient[pb.PeerBatch, pb.PeerAck]
	stopStream  context.CancelFunc
	backoff     time.Duration
	retryAt     time.Time // messages before it are dropped (stream down)
	lastRelease time.Time // keeps release times monotonic
}

func newPeer(t *Transport, id uint64) *peer {
	return &peer{t: t, id: id, q: make(chan outMsg, queueLen)}
}

// run is the sender goroutine: take the head, wait for its release time,
// batch everything else already released, write.
func (p *peer) run(ctx context.Context) {
	defer p.closeConn()
	var held *outMsg
	for {
		head, ok := p.next(ctx, held)
		if !ok {
			return
		}
		held = nil
		batch := []outMsg{head}
		batch, held = p.fill(batch)
		p.deliver(ctx, batch)
	}
}

// next returns the held message or the next queued one, once released.
func (p *peer) next(ctx context.Context, held *outMsg) (outMsg, bool) {
	var m outMsg
	if held != nil {
		m = *held
	} else {
		select {
		case m = <-p.q:
			m.release = p.monotonic(m.release)
		case <-ctx.Done():
			return m, false
		}
	}
	if d := time.Until(m.release); !m.release.IsZero() && d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return m, false
		}
	}
	return m, true
}

// monotonic keeps release times in queue order even if the delay changes.
func (p *peer) monotonic(release time.Time) time.Time {
	if release.IsZero() {
		if p.lastRelease.After(time.Now()) {
			return p.lastRelease
		}
		return release
	}
	if release.Before(p.lastRelease) {
		release = p.lastRelease
	}
	p.lastRelease = release
	return release
}

// fill adds already-released queued messages to batch; the first one not yet
// released is returned as held.
func (p *peer) fill(batch []outMsg) ([]outMsg, *outMsg) {
	size := 0
	for len(batch) < maxBatchMsgs && size < maxBatchBytes {
		select {
		case m := <-p.q:
			m.release = p.monotonic(m.release)
			if !m.release.IsZero() && m.release.After(time.Now()) {
				return batch, &m
			}
			batch = append(batch, m)
			size += proto.Size(m.m)
		default:
			return batch, nil
		}
	}
	return batch, nil
}

// deliver writes one batch, or drops it: silently when the emulated link
// was cut while it was on its way, reporting the shards unreachable while
// the stream is down.
func (p *peer) deliver(ctx context.Context, batch []outMsg) {
	if p.t.link(p.id).Cut {
		return
	}
	if time.Now().Before(p.retryAt) {
		p.reportUnreachable(batch)
		return
	}
	err := p.write(ctx, batch)
	if err == nil {
		p.backoff = 0
		return
	}
	if ctx.Err() != nil {
		return
	}
	p.t.log.Debug("peer send failed", "to", p.id, "err", err)
	p.resetStream()
	p.reportUnreachable(batch)
	p.backoff = min(max(2*p.backoff, minBackoff), maxBackoff)
	p.retryAt = time.Now().Add(p.backoff)
}

func (p *peer) write(ctx context.Context, batch []outMsg) error {
	msg := &pb.PeerBatch{From: p.t.cfg.NodeID, To: p.id, Messages: make([]*pb.ShardMessage, 0, len(batch))}
	for _, o := range batch {
		b, err := proto.Marshal(o.m)
		if err != nil {
			return fmt.Errorf("marshal: %w", err)
		}
		msg.Messages = append(msg.Messages, &pb.ShardMessage{Shard: o.shard, Message: b})
	}
	if p.stream == nil {
		if err := p.openStream(ctx); err != nil {
			return err
		}
	}
	return p.stream.Send(msg)
}

// openStream (re)connects when needed and opens the long-lived stream.
func (p *peer) openStream(ctx context.Context) error {
	addr, ok := p.t.cfg.Resolve(p.id)
	if !ok {
		return fmt.Errorf("no address for node %d", p.id)
	}
	if p.conn == nil || addr != p.addr {
		p.closeConn()
		conn, err := dial(addr)
		if err != nil {
			return err
		}
		p.conn, p.addr = conn, addr
	}
	sctx, cancel := context.WithCancel(ctx)
	stream, err := pb.NewPeerClient(p.conn).Stream(sctx)
	if err != nil {
		cancel()
		return err
	}
	p.stream, p.stopStream = stream, cancel
	return nil
}

// dial creates a client whose reconnect backoff is capped at maxBackoff.
func dial(addr string) (*grpc.ClientConn, error) {
	bc := backoff.DefaultConfig
	bc.BaseDelay, bc.MaxDelay = minBackoff, maxBackoff
	return grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bc, MinConnectTimeout: 5 * time.Second}))
}

func (p *peer) resetStream() {
	if p.stopStream != nil {
		p.stopStream()
	}
	p.stream, p.stopStream = nil, nil
}

func (p *peer) closeConn() {
	p.resetStream()
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
}

// reportUnreachable tells each shard in the batch once.
func (p *peer) reportUnreachable(batch []outMsg) {
	seen := make(map[uint64]bool)
	for _, o := range batch {
		if !seen[o.shard] {
			seen[o.shard] = true
			p.t.cfg.Handler.ReportUnreachable(o.shard, p.id)
		}
	}
}
