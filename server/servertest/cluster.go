// Package servertest starts in-process geomds clusters for tests: real
// nodes (storage on disk under the test's temp dir, gRPC on loopback), so
// tests of the client, the CLI and the mount run against the real thing.
package servertest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server"
	"github.com/geomds/geomds/server/namespace"
	"github.com/geomds/geomds/server/storage"
)

// Options shape a test cluster; the zero value is three nodes at sites
// east, west and north with fast Raft timing.
type Options struct {
	Sites []string
	// RTT is the emulated WAN's round trips; every node shares one
	// server.WAN built from it (Cluster.WAN), which tests may cut.
	RTT server.RTT
	// CommandVersions sets the command version some nodes report, by
	// name ("n3": 1 stands for a node of an older version).
	CommandVersions map[string]uint64
	// MinFreeSpace is every node's free-space reserve (0 = none), and
	// FreeSpace, by node name, what a node measures instead of statfs.
	MinFreeSpace    uint64
	FreeSpace       map[string]func(dir string) (uint64, error)
	SnapshotEntries uint64
	CompactKeep     uint64
	Logger          *slog.Logger // default: discard
}

// Cluster is a running test cluster.
type Cluster struct {
	t     testing.TB
	dir   string
	opts  Options
	peers []server.Peer
	wan   *server.WAN
	Nodes []*server.Node // nil while stopped
}

// Start starts a cluster and waits until it has a leader. The cluster is
// stopped when the test ends.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if len(opts.Sites) == 0 {
		opts.Sites = []string{"east", "west", "north"}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Cluster{t: t, dir: t.TempDir(), opts: opts, wan: server.NewWAN(opts.RTT)}
	lis := make([]net.Listener, len(opts.Sites))
	for i, site := range opts.Sites {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lis[i] = l
		c.peers = append(c.peers, server.Peer{Name: fmt.Sprintf("n%d", i+1), Site: site, Address: l.Addr().String()})
	}
	c.Nodes = make([]*server.Node, len(lis))
	for i := range lis {
		c.startNode(i, lis[i])
	}
	t.Cleanup(c.Stop)
	c.WaitLeader()
	if len(opts.CommandVersions) == 0 {
		c.waitCommandVersion()
	}
	return c
}

// waitCommandVersion waits (up to 30 s) until every node knows that every
// member reported this version, so commands of that version are accepted.
func (c *Cluster) waitCommandVersion() {
	c.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		all := true
		for _, n := range c.Nodes {
			all = all && n.ClusterCommandVersion() == namespace.CommandVersion
		}
		if all {
			return
		}
	}
	c.t.Fatal("members did not report their command version within 30 s")
}

func (c *Cluster) startNode(i int, l net.Listener) {
	c.t.Helper()
	p := c.peers[i]
	n, err := server.Start(context.Background(), server.Config{
		Name: p.Name, Site: p.Site, DataDir: filepath.Join(c.dir, p.Name),
		Listen: p.Address, Listener: l, InitialCluster: c.peers,
		ChunkStore:   "file://" + filepath.Join(c.dir, "chunks-"+p.Site),
		WAN:          c.wan,
		TickInterval: 10 * time.Millisecond, HeartbeatTicks: 2, ElectionTicks: 30,
		SnapshotEntries: c.opts.SnapshotEntries, CompactKeep: c.opts.CompactKeep,
		CommandVersion: c.opts.CommandVersions[p.Name],
		MinFreeSpace:   c.opts.MinFreeSpace, FreeSpace: c.opts.FreeSpace[p.Name],
		Logger: c.opts.Logger.With("node", p.Name),
	})
	if err != nil {
		c.t.Fatalf("start %s: %v", p.Name, err)
	}
	c.Nodes[i] = n
}

// Endpoints lists every node's address.
func (c *Cluster) Endpoints() []string {
	out := make([]string, len(c.peers))
	for i, p := range c.peers {
		out[i] = p.Address
	}
	return out
}

// WAN is the emulated network every node of the cluster shares: cut and
// heal sites with it while the nodes run. Give it (server.Config.WAN) to
// any node a test starts beside the cluster.
func (c *Cluster) WAN() *server.WAN { return c.wan }

// Peers is the initial cluster.
func (c *Cluster) Peers() []server.Peer { return c.peers }

// StopNode stops node i (its data stays).
func (c *Cluster) StopNode(i int) {
	if c.Nodes[i] != nil {
		c.Nodes[i].Stop()
		c.Nodes[i] = nil
	}
}

// RestartNode starts node i again on its data and address.
func (c *Cluster) RestartNode(i int) {
	c.t.Helper()
	var l net.Listener
	var err error
	for try := 0; try < 50; try++ { // the old socket may linger briefly
		if l, err = net.Listen("tcp", c.peers[i].Address); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatalf("restart %s: %v", c.peers[i].Name, err)
	}
	c.startNode(i, l)
}

// Stop stops every node.
func (c *Cluster) Stop() {
	for i := range c.Nodes {
		c.StopNode(i)
	}
}

// SetCommandVersion sets the command version node name reports from its
// next start on (0: the current one).
func (c *Cluster) SetCommandVersion(name string, v uint64) {
	if c.opts.CommandVersions == nil {
		c.opts.CommandVersions = map[string]uint64{}
	}
	c.opts.CommandVersions[name] = v
}

// Leader returns the index of the node that leads shard 1, or -1.
func (c *Cluster) Leader() int {
	for i, n := range c.Nodes {
		if n != nil && n.IsLeader() {
			return i
		}
	}
	return -1
}

// WaitLeader waits (up to 30 s) until some running node leads.
func (c *Cluster) WaitLeader() int {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if i := c.Leader(); i >= 0 {
			return i
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatal("no leader elected within 30 s")
	return -1
}

// MutateStorage applies cmd to stopped node i's storage directly, bypassing
// Raft, at the index the node already has: a deliberate divergence, for
// tests of the checkers that must catch one.
func (c *Cluster) MutateStorage(t testing.TB, i int, cmd *pb.Command) {
	t.Helper()
	if c.Nodes[i] != nil {
		t.Fatalf("MutateStorage: node %d is running", i)
	}
	eng, err := storage.Open(filepath.Join(c.dir, c.peers[i].Name, "db"), storage.Options{Logger: c.opts.Logger})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	b := eng.NewBatch(1)
	defer b.Close()
	res, err := namespace.Apply(b, cmd)
	if err != nil || res.GetErrno() != pb.Errno_OK {
		t.Fatalf("MutateStorage: %v %v", res, err)
	}
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
}

// Dir is the cluster's root directory (node data dirs, site chunk stores
// "chunks-SITE").
func (c *Cluster) Dir() string { return c.dir }
