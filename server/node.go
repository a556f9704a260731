package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"

	"github.com/geomds/geomds/chunkstore"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/fsm"
	"github.com/geomds/geomds/server/metrics"
	"github.com/geomds/geomds/server/replica"
	"github.com/geomds/geomds/server/rpc"
	"github.com/geomds/geomds/server/storage"
	"github.com/geomds/geomds/server/transport"
)

// shardID is the only shard so far; it owns /.
const shardID = 1

// maxMessageBytes bounds one gRPC message (a chunk piece or a big batch).
const maxMessageBytes = 16 << 20

// Node is one running geomds server.
type Node struct {
	cfg        Config
	id         uint64
	log        *slog.Logger
	eng        *storage.Engine
	fsm        *fsm.FSM
	rep        *replica.Replica
	tr         *transport.Transport
	chunks     *chunkstore.Store
	metrics    *metrics.Metrics
	httpSrv    *http.Server // metrics endpoint; nil when off
	metricsLis net.Listener
	grpc       *grpc.Server
	rpc        *rpc.Server // the handlers; also the judge of degraded mode
	health     *health.Server
	lis        net.Listener

	cancel context.CancelFunc
	wg     sync.WaitGroup
	done   chan struct{} // closed when the node has stopped
	err    error         // why it stopped; set before done closes

	stopOnce sync.Once

	lowSpace atomic.Bool // below Config.MinFreeSpace at the last check

	rtts  peerRTT   // round trips measured to the other members
	peers peerConns // connections to the other members, as their client

	// book is the registry a joining node was given, used until its own
	// replicated registry (from the leader's snapshot) knows the members.
	// Written before serving starts, read-only after.
	book []*pb.Member
}

// identity is what a node remembers about itself across restarts.
type identity struct {
	Name string `json:"name"`
	Site string `json:"site"`
	ID   uint64 `json:"id"`
}

// Start opens the node's data, joins or forms the cluster and serves until
// Stop or a fail-stop error.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := cfg.emulation(); err != nil {
		return nil, err
	}
	cfg.timing()
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.Name), done: make(chan struct{})}
	if err := n.open(ctx); err != nil {
		n.closeStores()
		return nil, err
	}
	n.serve()
	return n, nil
}

func (c *Config) validate() error {
	switch {
	case c.Name == "":
		return errors.New("--name is required")
	case c.Site == "":
		return errors.New("--site is required")
	case c.DataDir == "":
		return errors.New("--data-dir is required")
	case c.Listen == "":
		return errors.New("--listen is required")
	case len(c.InitialCluster) == 0:
		return errors.New("--initial-cluster is required")
	}
	return nil
}

func (n *Node) open(ctx context.Context) error {
	if err := os.MkdirAll(n.cfg.DataDir, 0o755); err != nil {
		return err
	}
	eng, err := storage.Open(filepath.Join(n.cfg.DataDir, "db"), storage.Options{FS: n.cfg.StorageFS, Logger: n.log})
	if err != nil {
		return fmt.Errorf("open storage: %w", err)
	}
	n.eng = eng
	if n.fsm, err = fsm.Open(eng, shardID); err != nil {
		return err
	}
	log, err := eng.RaftLog(shardID)
	if err != nil {
		return err
	}
	peers, err := n.identify(ctx)
	if err != nil {
		return err
	}
	url := n.cfg.ChunkStore
	if url == "" {
		dir, err := filepath.Abs(filepath.Join(n.cfg.DataDir, "chunks"))
		if err != nil {
			return fmt.Errorf("chunk store under data dir: %w", err)
		}
		url = "file://" + dir
	}
	if n.chunks, err = chunkstore.Open(ctx, url, n.cfg.Site); err != nil {
		return fmt.Errorf("open chunk store: %w", err)
	}
	n.metrics = metrics.New(n.cfg.Name, n.cfg.Site)
	n.tr = transport.New(transport.Config{NodeID: n.id, Resolve: n.resolve, Handler: handler{n}, Link: n.peerLink, Logger: n.log})
	n.rep, err = replica.New(replica.Config{
		Shard: shardID, ID: n.id, Peers: peers, Transport: n.tr,
		Log: metrics.LogStore{LogStore: log, M: n.metrics}, SM: metrics.StateMachine{StateMachine: n.fsm, M: n.metrics},
		TickInterval: n.cfg.TickInterval, ElectionTicks: n.cfg.ElectionTicks, HeartbeatTicks: n.cfg.HeartbeatTicks,
		SnapshotEntries: n.cfg.SnapshotEntries, CompactKeep: n.cfg.CompactKeep, Logger: n.log,
		LeaseReads: !n.cfg.NoReadLease,
	})
	if err != nil {
		return err
	}
	if n.cfg.MetricsListen != "" {
		if n.metricsLis, err = net.Listen("tcp", n.cfg.MetricsListen); err != nil {
			return fmt.Errorf("metrics endpoint: %w", err)
		}
	}
	if n.cfg.Listener != nil {
		n.lis = n.cfg.Listener
		return nil
	}
	n.lis, err = net.Listen("tcp", n.cfg.Listen)
	return err
}

// identify finds this node's ID: remembered from an earlier start, its
// position in the initial cluster when forming a new one, or asked of the
// cluster when joining. It returns the initial voters for a new cluster.
func (n *Node) identify(ctx context.Context) ([]uint64, error) {
	path := filepath.Join(n.cfg.DataDir, "node.json")
	if b, err := os.ReadFile(path); err == nil {
		var id identity
		if err := json.Unmarshal(b, &id); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if id.Name != n.cfg.Name {
			return nil, fmt.Errorf("data dir belongs to node %q, not %q", id.Name, n.cfg.Name)
		}
		n.id = id.ID
		return nil, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var peers []uint64
	if n.cfg.Join {
		id, err := n.askID(ctx)
		if err != nil {
			return nil, err
		}
		n.id = id
	} else {
		var members []*pb.Member
		for i, p := range n.cfg.InitialCluster {
			id := uint64(i + 1)
			peers = append(peers, id)
			members = append(members, &pb.Member{Id: id, Name: p.Name, Site: p.Site, Address: p.Address})
			if p.Name == n.cfg.Name {
				n.id = id
			}
		}
		if n.id == 0 {
			return nil, fmt.Errorf("node %q is not in --initial-cluster", n.cfg.Name)
		}
		if err := n.fsm.Bootstrap(members); err != nil {
			return nil, err
		}
	}
	b, _ := json.Marshal(identity{Name: n.cfg.Name, Site: n.cfg.Site, ID: n.id})
	if err := writeFileSync(path, b); err != nil {
		return nil, err
	}
	return peers, nil
}

// askID asks the existing members for the ID given to this node's name by
// `geomdsctl members add`. A member that has not applied the addition yet
// does not know it, so it asks each member and retries for a while.
func (n *Node) askID(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var lastErr error
	for ctx.Err() == nil {
		for _, p := range n.cfg.InitialCluster {
			if p.Name == n.cfg.Name {
				continue
			}
			members, err := memberList(ctx, p.Address)
			for _, m := range members {
				if m.Name == n.cfg.Name {
					n.book = members // how to reach the others until the registry arrives
					return m.Id, nil
				}
			}
			if err != nil {
				lastErr = err
			}
		}
		sleepCtx(ctx, 200*time.Millisecond)
	}
	if lastErr != nil {
		return 0, fmt.Errorf("join: no member of --initial-cluster answered: %v", lastErr)
	}
	return 0, fmt.Errorf("join: %q is not a member; run `geomdsctl members add %s --site %s --address %s --learner` first", n.cfg.Name, n.cfg.Name, n.cfg.Site, n.cfg.Listen)
}

// memberList asks one node for the member registry.
func memberList(ctx context.Context, addr string) ([]*pb.Member, error) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	out, err := pb.NewClusterClient(cc).MemberList(ctx, &pb.MemberListRequest{})
	if err != nil {
		return nil, err
	}
	return out.Members, nil
}

func writeFileSync(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// resolve maps a node ID to its address: the replicated registry first, the
// initial cluster as a fallback before the registry is known.
func (n *Node) resolve(id uint64) (string, bool) {
	if m, ok := n.fsm.Member(id); ok && m.Address != "" {
		return m.Address, true
	}
	if m := n.fromBook(id); m != nil {
		return m.Address, true
	}
	return "", false
}

// fromBook finds a member before the registry knows it: in the joining
// book, or by position in the initial cluster of a cluster this node founded.
func (n *Node) fromBook(id uint64) *pb.Member {
	for _, m := range n.book {
		if m.Id == id {
			return m
		}
	}
	if id >= 1 && int(id) <= len(n.cfg.InitialCluster) && !n.cfg.Join {
		p := n.cfg.InitialCluster[id-1]
		return &pb.Member{Id: id, Name: p.Name, Site: p.Site, Address: p.Address}
	}
	return nil
}

func (n *Node) siteOf(id uint64) string {
	if m, ok := n.fsm.Member(id); ok {
		return m.Site
	}
	if m := n.fromBook(id); m != nil {
		return m.Site
	}
	return n.cfg.Site
}

// peerLink is the emulated link to a node: half the sites' RTT one way,
// and cut while the WAN has the two sites cut apart.
func (n *Node) peerLink(to uint64) transport.Link {
	site := n.siteOf(to)
	return transport.Link{
		Delay: n.cfg.WAN.Between(n.cfg.Site, site) / 2,
		Cut:   n.cfg.WAN.IsCut(n.cfg.Site, site),
	}
}

// handler routes peer messages to the shard's replica.
type handler struct{ n *Node }

// The transport refuses batches and snapshots addressed to another node ID
// (a member of an older cluster, or of the source of a restore), so the
// handler only routes.
func (h handler) Step(ctx context.Context, _ uint64, m *raftpb.Message) error {
	return h.n.rep.Step(ctx, m)
}
func (h handler) StepSnapshot(ctx context.Context, _ uint64, m *raftpb.Message, data io.Reader) error {
	h.n.log.Info("restoring state snapshot from leader", "from", m.GetFrom(), "index", m.GetSnapshot().GetMetadata().GetIndex())
	err := h.n.rep.StepSnapshot(ctx, m, data)
	if err != nil {
		h.n.log.Warn("state snapshot not restored", "err", err)
	} else {
		h.n.log.Info("state snapshot restored", "applied", h.n.fsm.Applied())
	}
	return err
}
func (h handler) WriteSnapshot(_ uint64, w io.Writer) error {
	return h.n.metrics.SnapshotWriter(h.n.rep.WriteSnapshot)(w)
}
func (h handler) ReportUnreachable(_, id uint64)       { h.n.rep.ReportUnreachable(id) }
func (h handler) ReportSnapshot(_, id uint64, ok bool) { h.n.rep.ReportSnapshot(id, ok) }
