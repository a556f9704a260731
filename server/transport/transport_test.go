package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/grpc"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// recorder is a Handler that records what arrives.
type recorder struct {
	mu          sync.Mutex
	msgs        []got
	snaps       []gotSnap
	unreachable map[uint64]int
	snapReports []bool
	snapData    []byte // what WriteSnapshot streams
	snapErr     error  // what StepSnapshot returns
	skipData    bool   // StepSnapshot returns without reading
}

type got struct {
	shard uint64
	m     *raftpb.Message
	at    time.Time
}

type gotSnap struct {
	shard uint64
	m     *raftpb.Message
	data  []byte
}

func newRecorder() *recorder { return &recorder{unreachable: map[uint64]int{}} }

func (r *recorder) Step(_ context.Context, shard uint64, m *raftpb.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, got{shard, m, time.Now()})
	return nil
}

func (r *recorder) StepSnapshot(_ context.Context, shard uint64, m *raftpb.Message, data io.Reader) error {
	var b []byte
	if !r.skipData {
		var err error
		if b, err = io.ReadAll(data); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snaps = append(r.snaps, gotSnap{shard, m, b})
	return r.snapErr
}

func (r *recorder) WriteSnapshot(_ uint64, w io.Writer) error {
	_, err := w.Write(r.snapData)
	return err
}

func (r *recorder) ReportUnreachable(_, id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unreachable[id]++
}

func (r *recorder) ReportSnapshot(_, _ uint64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snapReports = append(r.snapReports, ok)
}

func (r *recorder) received() []got {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]got(nil), r.msgs...)
}

// addrBook maps node IDs to addresses (changed as servers restart).
type addrBook struct {
	mu sync.Mutex
	m  map[uint64]string
}

func (a *addrBook) set(id uint64, addr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.m[id] = addr
}

func (a *addrBook) resolve(id uint64) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	addr, ok := a.m[id]
	return addr, ok
}

// server is one node's gRPC server with its transport.
type server struct {
	t    *Transport
	gs   *grpc.Server
	addr string
	done chan struct{}
}

func startServer(t *testing.T, addr string, tr *Transport) *server {
	t.Helper()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: tr, gs: grpc.NewServer(), addr: lis.Addr().String(), done: make(chan struct{})}
	tr.Register(s.gs)
	go func() {
		defer close(s.done)
		_ = s.gs.Serve(lis)
	}()
	return s
}

func (s *server) stop() {
	s.gs.Stop()
	<-s.done
}

// node starts a transport and its server, both stopped at cleanup.
func node(t *testing.T, id uint64, book *addrBook, h Handler, link func(uint64) Link) *server {
	t.Helper()
	tr := New(Config{NodeID: id, Resolve: book.resolve, Handler: h, Link: link, Logger: quiet})
	s := startServer(t, "127.0.0.1:0", tr)
	book.set(id, s.addr)
	t.Cleanup(func() {
		tr.Close()
		s.stop()
	})
	return s
}

func app(from, to, index uint64) *raftpb.Message {
	return &raftpb.Message{
		Type: raftpb.MsgApp.Enum(), From: &from, To: &to, Index: &index,
		Entries: []*raftpb.Entry{{Index: new(index + 1), Data: bytes.Repeat([]byte{'x'}, 100)}},
	}
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBatchesDeliveredInOrderPerShard(t *testing.T) {
	book := &addrBook{m: map[uint64]string{}}
	h1, h2, h3 := newRecorder(), newRecorder(), newRecorder()
	s1 := node(t, 1, book, h1, nil)
	node(t, 2, book, h2, nil)
	node(t, 3, book, h3, nil)
	const n = 500
	for i := range uint64(n) {
		shard := 10 + i%2
		s1.t.Send(shard, []*raftpb.Message{app(1, 2, i), app(1, 3, i)})
	}
	for _, h := range []*recorder{h2, h3} {
		waitFor(t, "all messages", func() bool { return len(h.received()) == n })
		for i, g := range h.received() {
			if want := 10 + uint64(i)%2; g.shard != want {
				t.Fatalf("message %d on shard %d, want %d", i, g.shard, want)
			}
			if g.m.GetIndex() != uint64(i) {
				t.Fatalf("message %d has index %d: out of order", i, g.m.GetIndex())
			}
			if len(g.m.GetEntries()) != 1 || len(g.m.GetEntries()[0].GetData()) != 100 {
				t.Fatalf("message %d lost its entry", i)
			}
		}
	}
}

func TestReconnectAfterPeerRestart(t *testing.T) {
	book := &addrBook{m: map[uint64]string{}}
	h1 := newRecorder()
	s1 := node(t, 1, book, h1, nil)
	h2 := newRecorder()
	tr2 := New(Config{NodeID: 2, Resolve: book.resolve, Handler: h2, Logger: quiet})
	defer tr2.Close()
	s2 := startServer(t, "127.0.0.1:0", tr2)
	book.set(2, s2.addr)
	s1.t.Send(1, []*raftpb.Message{app(1, 2, 0)})
	waitFor(t, "first message", func() bool { return len(h2.received()) == 1 })

	s2.stop()
	s2 = startServer(t, s2.addr, tr2) // same address, new server
	defer s2.stop()
	i := uint64(1)
	waitFor(t, "a message after the restart", func() bool {
		s1.t.Send(1, []*raftpb.Message{app(1, 2, i)})
		i++
		return len(h2.received()) > 1
	})
}

func TestUnresolvableReportsUnreachable(t *testing.T) {
	book := &addrBook{m: map[uint64]string{}}
	h1 := newRecorder()
	s1 := node(t, 1, book, h1, nil)
	s1.t.Send(1, []*raftpb.Message{app(1, 9, 0)})
	waitFor(t, "unreachable report", func() bool {
		h1.mu.Lock()
		defer h1.mu.Unlock()
		return h1.unreachable[9] > 0
	})
}

func snapMsg(from, to, index uint64) *raftpb.Message {
	return &raftpb.Message{
		Type: raftpb.MsgSnap.Enum(), From: &from, To: &to,
		Snapshot: &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{Index: &index, Term: new(uint64(3))}},
	}
}

func TestSnapshotStreamDelivered(t *testing.T) {
	book := &addrBook{m: map[uint64]string{}}
	h1, h2 := newRecorder(), newRecorder()
	h1.snapData = bytes.Repeat([]byte("0123456789abcdef"), 200_000) // 3.2 MB: several chunks
	s1 := node(t, 1, book, h1, nil)
	node(t, 2, book, h2, nil)
	s1.t.Send(5, []*raftpb.Message{snapMsg(1, 2, 42)})
	waitFor(t, "snapshot report", func() bool {
		h1.mu.Lock()
		defer h1.mu.Unlock()
		return len(h1.snapReports) == 1
	})
	if !h1.snapReports[0] {
		t.Fatal("snapshot reported failed")
	}
	h2.mu.Lock()
	defer h2.mu.Unlock()
	if len(h2.snaps) != 1 {
		t.Fatalf("%d snapshots received", len(h2.snaps))
	}
	g := h2.snaps[0]
	if g.shard != 5 || g.m.GetSnapshot().GetMetadata().GetIndex() != 42 || !bytes.Equal(g.data, h1.snapData) {
		t.Fatalf("snapshot shard %d index %d, %d bytes (want %d)", g.shard, g.m.GetSnapshot().GetMetadata().GetIndex(), len(g.data), len(h1.snapData))
	}
}

func TestSnapshotOutcomeReported(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stepErr  error
		skipData bool
		ok       bool
	}{
		{"receiver fails", errors.New("no"), false, false},
		{"receiver skips the data", nil, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			book := &addrBook{m: map[uint64]string{}}
			h1, h2 := newRecorder(), newRecorder()
			h1.snapData = bytes.Repeat([]byte("z"), 2<<20)
			h2.snapErr, h2.skipData = tc.stepErr, tc.skipData
			s1 := node(t, 1, book, h1, nil)
			node(t, 2, book, h2, nil)
			s1.t.Send(5, []*raftpb.Message{snapMsg(1, 2, 7)})
			waitFor(t, "snapshot report", func() bool {
				h1.mu.Lock()
				defer h1.mu.Unlock()
				return len(h1.snapReports) == 1
			})
			if h1.snapReports[0] != tc.ok {
				t.Fatalf("reported %v, want %v", h1.snapReports[0], tc.ok)
			}
		})
	}
}

func TestDelayKeepsOrderAndPipelining(t *testing.T) {
	const delay = 50 * time.Millisecond
	const n = 100
	book := &addrBook{m: map[uint64]string{}}
	h1, h2 := newRecorder(), newRecorder()
	s1 := node(t, 1, book, h1, func(uint64) Link { return Link{Delay: delay} })
	node(t, 2, book, h2, nil)
	sentAt := make([]time.Time, n)
	start := time.Now()
	for i := range uint64(n) {
		sentAt[i] = time.Now()
		s1.t.Send(1, []*raftpb.Message{app(1, 2, i)})
		time.Sleep(time.Millisecond) // spread the stamps: a stream of sends, not one burst
	}
	waitFor(t, "all delayed messages", func() bool { return len(h2.received()) == n })
	elapsed := time.Since(start)
	for i, g := range h2.received() {
		if g.m.GetIndex() != uint64(i) {
			t.Fatalf("message %d arrived in position %d", g.m.GetIndex(), i)
		}
		if early := sentAt[i].Add(delay).Sub(g.at); early > 0 {
			t.Fatalf("message %d arrived %v before its release", i, early)
		}
	}
	// Serialized delays would take n*delay = 5 s; pipelined, about the
	// send duration plus one delay. Allow a wide margin for slow machines.
	if elapsed > n*delay/2 {
		t.Fatalf("100 messages took %v with a %v delay: not pipelined", elapsed, delay)
	}
}

// countingStream counts stream writes received by the server.
type countingStream struct {
	grpc.ServerStream
	n *atomic.Int64
}

func (c countingStream) RecvMsg(m any) error {
	err := c.ServerStream.RecvMsg(m)
	if err == nil {
		c.n.Add(1)
	}
	return err
}

func TestManyMessagesPerWrite(t *testing.T) {
	book := &addrBook{m: map[uint64]string{}}
	h1, h2 := newRecorder(), newRecorder()
	s1 := node(t, 1, book, h1, nil)
	var writes atomic.Int64
	tr2 := New(Config{NodeID: 2, Resolve: book.resolve, Handler: h2, Logger: quiet})
	defer tr2.Close()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		return h(srv, countingStream{ss, &writes})
	}))
	tr2.Register(gs)
	go gs.Serve(lis)
	defer gs.Stop()
	book.set(2, lis.Addr().String())

	const n = 2000
	msgs := make([]*raftpb.Message, n)
	for i := range msgs {
		msgs[i] = app(1, 2, uint64(i))
	}
	s1.t.Send(1, msgs)
	waitFor(t, "all messages", func() bool { return len(h2.received()) == n })
	if w := writes.Load(); w > n/4 {
		t.Fatalf("%d messages took %d stream writes", n, w)
	} else {
		t.Logf("%d messages in %d stream writes", n, w)
	}
}

// A node reached at an address that now belongs to another node ID (a
// member of an older cluster, or of a restore's source) refuses the batches
// and snapshots addressed to the old ID.
func TestMessagesForAnotherNodeRefused(t *testing.T) {
	book := &addrBook{m: map[uint64]string{}}
	h1, h3 := newRecorder(), newRecorder()
	h1.snapData = []byte("state")
	s1 := node(t, 1, book, h1, nil)
	node(t, 3, book, h3, nil)
	addr3, _ := book.resolve(3)
	book.set(2, addr3) // node 1 believes node 2 lives at node 3's address
	s1.t.Send(5, []*raftpb.Message{app(1, 2, 1), snapMsg(1, 2, 9)})
	waitFor(t, "snapshot report", func() bool {
		h1.mu.Lock()
		defer h1.mu.Unlock()
		return len(h1.snapReports) == 1
	})
	if h1.snapReports[0] {
		t.Fatal("a snapshot for node 2 was accepted by node 3")
	}
	h3.mu.Lock()
	defer h3.mu.Unlock()
	if len(h3.msgs) != 0 || len(h3.snaps) != 0 {
		t.Fatalf("node 3 stepped %d messages and %d snapshots meant for node 2", len(h3.msgs), len(h3.snaps))
	}
}

// cutSwitch is an emulated link that can be cut; it counts how often the
// transport asked about it while it was cut.
type cutSwitch struct {
	delay    time.Duration
	cut      atomic.Bool
	askedCut atomic.Int64
}

func (s *cutSwitch) link(uint64) Link {
	c := s.cut.Load()
	if c {
		s.askedCut.Add(1)
	}
	return Link{Delay: s.delay, Cut: c}
}

// indexes lists the indexes of the messages h received, in order.
func indexes(h *recorder) []uint64 {
	var out []uint64
	for _, g := range h.received() {
		out = append(out, g.m.GetIndex())
	}
	return out
}

// TestCutLinkLosesMessagesSilently: while the link is cut, messages sent
// are lost and raft is not told (a blackhole says nothing); a snapshot is
// reported as not delivered; once healed, messages flow again on the same
// stream, so anything sent during the cut would have arrived before them.
func TestCutLinkLosesMessagesSilently(t *testing.T) {
	book := &addrBook{m: map[uint64]string{}}
	h1, h2 := newRecorder(), newRecorder()
	h1.snapData = []byte("state")
	sw := &cutSwitch{}
	s1 := node(t, 1, book, h1, sw.link)
	node(t, 2, book, h2, nil)
	s1.t.Send(1, []*raftpb.Message{app(1, 2, 1)})
	waitFor(t, "message before the cut", func() bool { return len(h2.received()) == 1 })

	sw.cut.Store(true)
	s1.t.Send(1, []*raftpb.Message{app(1, 2, 2), app(1, 2, 3), snapMsg(1, 2, 9)})
	waitFor(t, "snapshot report", func() bool {
		h1.mu.Lock()
		defer h1.mu.Unlock()
		return len(h1.snapReports) == 1
	})
	if h1.snapReports[0] {
		t.Fatal("a snapshot over a cut link was reported delivered")
	}
	sw.cut.Store(false)
	s1.t.Send(1, []*raftpb.Message{app(1, 2, 4)})
	waitFor(t, "message after the heal", func() bool { return len(h2.received()) == 2 })
	if got := indexes(h2); got[0] != 1 || got[1] != 4 {
		t.Fatalf("received indexes %v, want [1 4]: messages sent during the cut got through", got)
	}
	h1.mu.Lock()
	defer h1.mu.Unlock()
	if len(h2.snaps) != 0 || h1.unreachable[2] != 0 {
		t.Fatalf("%d snapshots received, %d unreachable reports: want 0 and 0", len(h2.snaps), h1.unreachable[2])
	}
}

// TestCutLosesMessagesOnTheirWay: a message sent before the cut but due
// after it (WAN delay) is lost too, as on a real link.
func TestCutLosesMessagesOnTheirWay(t *testing.T) {
	book := &addrBook{m: map[uint64]string{}}
	h1, h2 := newRecorder(), newRecorder()
	sw := &cutSwitch{delay: 300 * time.Millisecond}
	s1 := node(t, 1, book, h1, sw.link)
	node(t, 2, book, h2, nil)
	s1.t.Send(1, []*raftpb.Message{app(1, 2, 1)})
	sw.cut.Store(true)
	// The sender asks about the link once more when the message is due.
	waitFor(t, "the delayed message released into the cut", func() bool { return sw.askedCut.Load() >= 1 })
	sw.cut.Store(false)
	s1.t.Send(1, []*raftpb.Message{app(1, 2, 2)})
	waitFor(t, "message after the heal", func() bool { return len(h2.received()) == 1 })
	if got := indexes(h2); got[0] != 2 {
		t.Fatalf("received indexes %v, want [2]: the message on its way crossed the cut", got)
	}
}
