package server_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server"
	"github.com/geomds/geomds/server/storage"
)

// fsCluster is a three-node in-process cluster whose nodes keep their Pebble
// on a crashable in-memory file system behind a WAL fault switch. The rest of a
// node's data dir (identity, chunks) is on disk under the test's temp dir.
type fsCluster struct {
	t     *testing.T
	peers []server.Peer
	nodes []*fsNode
	logs  *syncBuffer // every node's log, shown when the test fails
}

type fsNode struct {
	peer  server.Peer
	dir   string
	mem   *vfs.MemFS // outlives the node: a restart reopens it (or its crash clone)
	fault *walFault
	node  *server.Node // nil while stopped
	conn  *grpc.ClientConn
}

func startFSCluster(t *testing.T) *fsCluster {
	t.Helper()
	c := &fsCluster{t: t, logs: &syncBuffer{}}
	dir := t.TempDir()
	var lis []net.Listener
	for i, site := range []string{"east", "west", "north"} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lis = append(lis, l)
		c.peers = append(c.peers, server.Peer{Name: fmt.Sprintf("n%d", i+1), Site: site, Address: l.Addr().String()})
	}
	t.Cleanup(c.stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node logs:\n%s", c.logs.String())
		}
	})
	for i, p := range c.peers {
		conn, err := grpc.NewClient(p.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		n := &fsNode{peer: p, dir: filepath.Join(dir, p.Name), mem: vfs.NewCrashableMem(), fault: &walFault{}, conn: conn}
		c.nodes = append(c.nodes, n)
		if err := c.start(n, lis[i]); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// start starts n on its data (creating it the first time).
func (c *fsCluster) start(n *fsNode, l net.Listener) error {
	logger := slog.New(slog.NewTextHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	node, err := server.Start(context.Background(), server.Config{
		Name: n.peer.Name, Site: n.peer.Site, DataDir: n.dir,
		Listen: n.peer.Address, Listener: l, InitialCluster: c.peers,
		ChunkStore:   "file://" + filepath.Join(n.dir, "chunks"),
		TickInterval: 10 * time.Millisecond, HeartbeatTicks: 2, ElectionTicks: 30,
		StorageFS: faultFS{FS: n.mem, fault: n.fault},
		Logger:    logger,
	})
	if err != nil {
		return fmt.Errorf("start %s: %w", n.peer.Name, err)
	}
	n.node = node
	return nil
}

// restart starts a stopped node again on its address and data.
func (c *fsCluster) restart(n *fsNode) error {
	var l net.Listener
	var err error
	for try := 0; try < 50; try++ { // the old socket may linger briefly
		if l, err = net.Listen("tcp", n.peer.Address); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("restart %s: %w", n.peer.Name, err)
	}
	return c.start(n, l)
}

// stop stops every node, all at once (a node's Stop waits for its peers'
// streams to end), and closes the status conns.
func (c *fsCluster) stop() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		if n.node != nil {
			wg.Go(n.node.Stop)
		}
	}
	wg.Wait()
	for _, n := range c.nodes {
		n.node = nil
		n.conn.Close()
	}
}

func (c *fsCluster) endpoints() []string {
	var out []string
	for _, p := range c.peers {
		out = append(out, p.Address)
	}
	return out
}

// leader returns the running node that leads shard 1, or nil.
func (c *fsCluster) leader() *fsNode {
	for _, n := range c.nodes {
		if n.node != nil && n.node.Err() == nil && n.node.IsLeader() {
			return n
		}
	}
	return nil
}

// waitLeader waits until a running node leads.
func (c *fsCluster) waitLeader(ctx context.Context) (*fsNode, error) {
	var l *fsNode
	err := poll(ctx, 20*time.Millisecond, func() error {
		if l = c.leader(); l == nil {
			return fmt.Errorf("no leader")
		}
		return nil
	})
	return l, err
}

// nodeView is one node's own report of itself: applied index, the shard's
// commit index, whether it leads, and (when it leads) every peer's match.
type nodeView struct {
	applied, commit uint64
	leads           bool
	match           map[string]uint64
}

// view asks n for its local status (no forwarding).
func (n *fsNode) view(ctx context.Context) (nodeView, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := pb.NewClusterClient(n.conn).Status(ctx, &pb.StatusRequest{Local: true})
	if err != nil {
		return nodeView{}, err
	}
	if len(st.GetShards()) == 0 {
		return nodeView{}, fmt.Errorf("%s: no shard in status", n.peer.Name)
	}
	sh := st.GetShards()[0]
	v := nodeView{commit: sh.GetCommit(), leads: sh.GetLeader() == n.peer.Name, match: map[string]uint64{}}
	for _, r := range sh.GetReplicas() {
		if r.GetName() == n.peer.Name {
			v.applied = r.GetApplied()
		} else {
			v.match[r.GetName()] = r.GetMatch()
		}
	}
	return v, nil
}

// durable is what a stopped node's store holds: raft log, hard state and
// applied index, read offline.
type durable struct {
	first, last, commit, term, applied uint64
}

// readDurable opens n's store (n must be stopped) and reads its log bounds,
// hard state and applied index.
func (n *fsNode) readDurable() (durable, error) {
	eng, err := storage.Open(filepath.Join(n.dir, "db"), storage.Options{FS: n.mem, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return durable{}, err
	}
	defer eng.Close()
	log, err := eng.RaftLog(1)
	if err != nil {
		return durable{}, err
	}
	var d durable
	hs, _, err := log.InitialState()
	if err != nil {
		return d, err
	}
	d.commit, d.term = hs.GetCommit(), hs.GetTerm()
	if d.first, err = log.FirstIndex(); err != nil {
		return d, err
	}
	if d.last, err = log.LastIndex(); err != nil {
		return d, err
	}
	d.applied, _, err = eng.Applied(1)
	return d, err
}

// listing is one node's view of a directory: name -> inode and mode.
type listing map[string][2]uint64

// listLocal lists dir as node n has applied it (STALE, no forwarding).
func (c *fsCluster) listLocal(ctx context.Context, n *fsNode, dir string) (listing, error) {
	cl, err := client.New(ctx, client.Config{Endpoints: []string{n.peer.Address}, Creds: &pb.Creds{},
		Consistency: pb.Consistency_STALE, MaxStaleness: time.Hour, RequestTimeout: 20 * time.Second})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ents, err := cl.ReadDir(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("%s: readdir %s: %w", n.peer.Name, dir, err)
	}
	out := listing{}
	for _, e := range ents {
		out[e.GetName()] = [2]uint64{e.GetAttr().GetIno(), uint64(e.GetAttr().GetMode())}
	}
	return out, nil
}

// poll calls fn every interval until it returns nil or ctx ends; it returns
// fn's last error, with ctx's reason.
func poll(ctx context.Context, every time.Duration, fn func() error) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		err := fn()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%v)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// syncBuffer is a bytes.Buffer for concurrent loggers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// checkNoLeaks fails t if goroutines of the server, Pebble, Raft or gRPC
// started during the test are still running once its cleanups are done.
// Register it first so that it runs last.
func checkNoLeaks(t *testing.T) {
	before := goroutineIDs()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		var leaked []string
		poll(ctx, 100*time.Millisecond, func() error {
			leaked = leaked[:0]
			for id, stack := range goroutines() {
				if !before[id] && leakWorthy.MatchString(stack) {
					leaked = append(leaked, stack)
				}
			}
			if len(leaked) > 0 {
				return fmt.Errorf("leaked")
			}
			return nil
		})
		if len(leaked) > 0 {
			t.Errorf("%d goroutines left running after the test; first:\n%s", len(leaked), leaked[0])
		}
	})
}

var leakWorthy = regexp.MustCompile(`geomds/geomds/server|cockroachdb/pebble|go\.etcd\.io/raft|google\.golang\.org/grpc`)

func goroutineIDs() map[string]bool {
	out := map[string]bool{}
	for id := range goroutines() {
		out[id] = true
	}
	return out
}

// goroutines returns every goroutine's stack by its ID.
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		head, _, _ := strings.Cut(g, " [")
		out[strings.TrimPrefix(head, "goroutine ")] = g
	}
	return out
}
