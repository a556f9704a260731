package transport

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/grpc"
)

// Handler is the node's side of the transport: it routes by shard to replicas.
type Handler interface {
	Step(ctx context.Context, shard uint64, m *raftpb.Message) error
	StepSnapshot(ctx context.Context, shard uint64, m *raftpb.Message, data io.Reader) error
	// WriteSnapshot streams the shard's state for a MsgSnap this node sends.
	WriteSnapshot(shard uint64, w io.Writer) error
	ReportUnreachable(shard, id uint64)
	ReportSnapshot(shard, id uint64, ok bool)
}

// Config configures a Transport.
type Config struct {
	NodeID  uint64
	Resolve func(id uint64) (addr string, ok bool) // peer node ID → host:port
	Handler Handler
	// Link emulates the WAN per destination: its one-way delay, and
	// whether it is cut. nil means a perfect network.
	Link   func(to uint64) Link
	Logger *slog.Logger // default slog.Default()
}

// Link is the emulated state of the link to one destination.
type Link struct {
	Delay time.Duration // one way; messages keep their order
	// Cut makes the link a blackhole. A message sent, or still on its way,
	// while it is cut is lost without a report: raft notices the silence,
	// as on a real network. A snapshot stream fails instead, so raft hears
	// that the snapshot did not arrive and sends another later.
	Cut bool
}

// Transport sends and receives peer messages for one node.
type Transport struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // sender and snapshot goroutines

	mu     sync.Mutex
	peers  map[uint64]*peer // guarded by mu
	closed bool             // guarded by mu
}

// New creates a transport; it sends nothing until Send and receives nothing
// until Register.
func New(cfg Config) *Transport {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Transport{
		cfg: cfg, log: cfg.Logger.With("node", cfg.NodeID),
		ctx: ctx, cancel: cancel,
		peers: make(map[uint64]*peer),
	}
}

// Register adds the Peer service to s.
func (t *Transport) Register(s *grpc.Server) {
	pb.RegisterPeerServer(s, &service{t: t})
}

// Send queues msgs for their destinations. It never blocks.
func (t *Transport) Send(shard uint64, msgs []*raftpb.Message) {
	for _, m := range msgs {
		if m.GetType() == raftpb.MsgSnap {
			t.sendSnapshot(shard, m)
			continue
		}
		l := t.link(m.GetTo())
		if l.Cut {
			continue // lost on the way
		}
		p := t.peer(m.GetTo())
		if p == nil {
			return // closed
		}
		out := outMsg{shard: shard, m: m}
		if l.Delay > 0 {
			out.release = time.Now().Add(l.Delay)
		}
		select {
		case p.q <- out:
		default:
			t.cfg.Handler.ReportUnreachable(shard, m.GetTo())
		}
	}
}

func (t *Transport) link(to uint64) Link {
	if t.cfg.Link == nil {
		return Link{}
	}
	return t.cfg.Link(to)
}

// peer returns the sender for id, starting it on first use; nil once closed.
func (t *Transport) peer(id uint64) *peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	p, ok := t.peers[id]
	if !ok {
		p = newPeer(t, id)
		t.peers[id] = p
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			p.run(t.ctx)
		}()
	}
	return p
}

// goTracked runs f in a goroutine Close waits for; false once closed.
func (t *Transport) goTracked(f func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
	return true
}

// Close stops every sender and snapshot goroutine and closes connections.
// Queued messages are dropped. The gRPC server is the caller's to stop.
func (t *Transport) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.cancel()
	t.wg.Wait()
	return nil
}
