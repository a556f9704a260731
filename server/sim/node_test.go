package sim

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/fsm"
	"github.com/geomds/geomds/server/replica"
	"github.com/geomds/geomds/server/storage"
)

const shardID = 1

// node is one simulated server: a file system that survives crashes and,
// while it is up, the engine, state machine and replica running on it.
type node struct {
	id          nodeID
	fs          *vfs.MemFS
	initial     bool // one of the bootstrapping voters
	started     bool // has ever run (bootstrap happens on the first start)
	removed     bool // removed from the group; never restarted
	incarnation int  // bumped by every start

	up        bool
	pauseTill int64 // a paused node gets no ticks or messages until then
	restartAt int64 // a crashed node restarts then (0: only when a fault says so)
	eng       *storage.Engine
	fsm       *fsm.FSM
	rep       *replica.Replica
	cancel    context.CancelFunc
	done      chan error // Run's result

	// mu guards the fields below, which the replica's goroutine writes.
	mu     sync.Mutex
	outbox []*raftpb.Message // sent since the simulation last collected
	// A crash inside a Ready: crashIn counts down the crash points (before
	// and after each storage write); at zero the crash image is taken, and
	// the simulation kills the node once it is idle, as if it had died there.
	crashIn     int
	image       *vfs.MemFS
	imageOutbox int          // messages sent before the image was taken
	imageHard   [2]hardState // the recorder's hard and synced state of the node then
}

// crashPoint takes the crash image if the node is armed to die here. It
// runs on the replica's goroutine.
func (n *node) crashPoint(w *world) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.crashIn == 0 || n.image != nil {
		return
	}
	if n.crashIn--; n.crashIn > 0 {
		return
	}
	n.image = n.fs.CrashClone(vfs.CrashCloneCfg{})
	n.imageOutbox = len(n.outbox)
	n.imageHard = w.rec.hardOf(n.id)
}

func (n *node) arm(points int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.crashIn, n.image = points, nil
}

// takeImage returns the crash image taken inside a Ready, if any, and drops
// the messages sent after it: a dead process sent nothing.
func (n *node) takeImage() (image *vfs.MemFS, hard [2]hardState) {
	n.mu.Lock()
	defer n.mu.Unlock()
	image, hard = n.image, n.imageHard
	if image != nil {
		n.outbox = n.outbox[:n.imageOutbox]
		n.image, n.crashIn = nil, 0
	}
	return image, hard
}

// Send implements replica.Transport: it only queues, the simulation routes.
func (n *node) Send(_ uint64, msgs []*raftpb.Message) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range msgs {
		n.outbox = append(n.outbox, proto.Clone(m).(*raftpb.Message))
	}
}

func (n *node) takeOutbox() []*raftpb.Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.outbox
	n.outbox = nil
	return out
}

var discardLogger = slog.New(slog.DiscardHandler)

// start opens the node's storage and runs its replica. The first start of
// an initial voter bootstraps the state and the group, as a new server
// does; a joining node starts empty and catches up from a snapshot.
func (w *world) start(n *node) error {
	eng, err := storage.Open("db", storage.Options{FS: n.fs, Logger: discardLogger, CacheBytes: 1 << 20})
	if err != nil {
		return fmt.Errorf("node %d: open storage: %w", n.id, err)
	}
	f, err := fsm.Open(eng, shardID)
	if err == nil && n.initial && !n.started {
		err = f.Bootstrap(w.initialMembers())
	}
	var log *storage.RaftLog
	if err == nil {
		log, err = eng.RaftLog(shardID)
	}
	if err != nil {
		_ = eng.Close()
		return fmt.Errorf("node %d: open: %w", n.id, err)
	}
	var peers []uint64
	if n.initial && !n.started {
		peers = w.initialIDs()
	}
	w.rec.restarted(w, n, eng, log)
	rep, err := replica.New(replica.Config{
		Shard: shardID, ID: uint64(n.id), Peers: peers,
		Log:           &observedLog{LogStore: log, w: w, n: n},
		SM:            &observedSM{fsm: f, eng: eng, w: w, n: n},
		Transport:     n,
		ElectionTicks: w.cfg.electionTicks, HeartbeatTicks: 1,
		SnapshotEntries: w.cfg.snapshotEntries, CompactKeep: w.cfg.compactKeep,
		MaxSizePerMsg: 4 << 10, MaxInflightMsgs: 16, LeaseReads: w.cfg.leaseReads,
		Logger: discardLogger,
	})
	if err != nil {
		_ = eng.Close()
		return fmt.Errorf("node %d: replica: %w", n.id, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.eng, n.fsm, n.rep, n.cancel = eng, f, rep, cancel
	n.done = make(chan error, 1)
	n.up, n.started = true, true
	n.incarnation++
	n.pauseTill = 0
	if n.incarnation > 1 {
		w.stats.restarts++
	}
	go func() { n.done <- rep.Run(ctx) }()
	w.settle()
	return nil
}

// crash stops the node as a power failure would: the files keep only what
// was synced. The replica is stopped after the crash image is taken, so
// nothing it does while stopping reaches the image.
func (w *world) crash(n *node) error {
	n.arm(0)
	return w.kill(n, n.fs.CrashClone(vfs.CrashCloneCfg{}))
}

// kill stops n's replica and engine and leaves image as its files.
func (w *world) kill(n *node, image *vfs.MemFS) error {
	w.stats.crashes++
	n.cancel()
	runErr := <-n.done
	n.up = false
	w.settle() // waiters of the stopped replica learn ErrStopped
	_ = n.takeOutbox()
	err := n.eng.Close()
	n.fs = image
	n.eng, n.fsm, n.rep = nil, nil, nil
	if runErr != nil && runErr != context.Canceled {
		return fmt.Errorf("node %d stopped by itself: %w", n.id, runErr)
	}
	if err != nil {
		return fmt.Errorf("node %d: close: %w", n.id, err)
	}
	return nil
}

// stopped reports a replica that stopped on its own (fail-stop).
func (n *node) stopped() error {
	if !n.up {
		return nil
	}
	select {
	case <-n.rep.Stopped():
		return fmt.Errorf("node %d fail-stopped: %w", n.id, n.rep.Err())
	default:
		return nil
	}
}

func (w *world) initialIDs() []uint64 {
	ids := make([]uint64, w.cfg.nodes)
	for i := range ids {
		ids[i] = uint64(i + 1)
	}
	return ids
}

func (w *world) initialMembers() []*pb.Member {
	var ms []*pb.Member
	for _, id := range w.initialIDs() {
		ms = append(ms, memberOf(nodeID(id)))
	}
	return ms
}

func memberOf(id nodeID) *pb.Member {
	return &pb.Member{Id: uint64(id), Name: fmt.Sprintf("n%d", id), Site: "site", Address: fmt.Sprintf("n%d:1", id)}
}
