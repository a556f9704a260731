package replica

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Queue bounds (see doc.go).
const (
	recvQueueLen     = 4096
	proposalQueueLen = 4096
	controlQueueLen  = 256
	// maxProposalBatch proposals go to raft as one MsgProp.
	maxProposalBatch = 1024
	// maxDrain inputs are taken per loop turn before handling Ready again,
	// so a flood of messages cannot starve persistence and apply.
	maxDrain = 512
)

// Replica is one shard's Raft replica on this node. Create it with New and
// drive it with Run.
type Replica struct {
	cfg   Config
	id    uint64
	shard uint64
	log   *slog.Logger

	recvc  chan *raftpb.Message // bound recvQueueLen
	propc  chan proposal        // bound proposalQueueLen
	ctrlc  chan func()          // bound controlQueueLen
	tickc  chan struct{}        // 1-slot signal; the count is in pendingTicks
	readc  chan struct{}        // 1-slot signal: readers are pending
	ticks  atomic.Int64
	idSeq  atomic.Uint64 // low 48 bits of proposal IDs
	runner atomic.Bool   // Run has been called

	props    waiterSet     // proposal waiters by proposal ID
	confW    confWaiter    // the one pending conf change of this node
	reads    readQueue     // readers waiting for the next read round
	applied  appliedIndex  // visible applied index and its waiters
	leaderCh notifier      // signalled on every leader or role change
	pub      published     // status published by the loop
	contact  atomic.Int64  // unix nanos of the last message from the leader
	stopped  chan struct{} // closed when Run returns
	stopOnce sync.Once
	err      error // why Run returned; written before stopped is closed

	loop loopState // owned by the Run goroutine
	park parking   // proposals raft dropped during an election; owned by Run
}

// loopState is touched only by the Run goroutine.
type loopState struct {
	rn          *raft.RawNode
	lead        uint64
	state       raft.StateType
	term        uint64
	applied     uint64 // last entry raft handed to apply (raft's applied index)
	smApplied   uint64 // the state machine's applied index (may exceed applied)
	snapIndex   uint64 // index of the LogStore's latest snapshot
	confState   *raftpb.ConfState
	confChanged bool  // a conf change was applied since the last snapshot
	fatal       error // set by work run on the loop; Run stops with it
	round       *readRound
	roundSeq    uint64

	// Lease guard (LeaseReads with a ticker): the lease is counted in ticks,
	// and a paused process (SIGSTOP, a VM stall) counts none while the other
	// nodes elect a new leader. After a gap between ticks longer than half
	// an election timeout the lease is not trusted for two election
	// timeouts of ticks: by then CheckQuorum has either confirmed a quorum
	// or stepped this leader down.
	lastTick       time.Time // wall time of the last tick; zero with manual ticks
	leaseHoldTicks int       // ticks left before the lease is trusted again
}

// New creates a replica from its stores. It does not start it: call Run.
func New(cfg Config) (*Replica, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Replica{
		cfg: cfg, id: cfg.ID, shard: cfg.Shard,
		log:     cfg.Logger.With("shard", cfg.Shard, "node", cfg.ID),
		recvc:   make(chan *raftpb.Message, recvQueueLen),
		propc:   make(chan proposal, proposalQueueLen),
		ctrlc:   make(chan func(), controlQueueLen),
		tickc:   make(chan struct{}, 1),
		readc:   make(chan struct{}, 1),
		stopped: make(chan struct{}),
	}
	r.props.init()
	r.park.leaderless = neverLed
	r.idSeq.Store(rand.Uint64())
	if err := r.initLoop(); err != nil {
		return nil, err
	}
	return r, nil
}

// initLoop opens the RawNode over the stores (bootstrapping a new group when
// Peers is set and the log is empty).
func (r *Replica) initLoop() error {
	hs, cs, err := r.cfg.Log.InitialState()
	if err != nil {
		return fmt.Errorf("replica: initial state: %w", err)
	}
	snap, err := r.cfg.Log.Snapshot()
	if err != nil {
		return fmt.Errorf("replica: snapshot: %w", err)
	}
	last, err := r.cfg.Log.LastIndex()
	if err != nil {
		return fmt.Errorf("replica: last index: %w", err)
	}
	rn, err := raft.NewRawNode(r.raftConfig())
	if err != nil {
		return fmt.Errorf("replica: %w", err)
	}
	l := &r.loop
	l.rn = rn
	l.snapIndex = snap.GetMetadata().GetIndex()
	l.applied = l.snapIndex
	l.smApplied = r.cfg.SM.Applied()
	l.confState = proto.Clone(raftpb.EnsureConfState(cs)).(*raftpb.ConfState)
	l.term = hs.GetTerm()
	if len(r.cfg.Peers) > 0 && raft.IsEmptyHardState(hs) && last == 0 {
		peers := make([]raft.Peer, len(r.cfg.Peers))
		for i, id := range r.cfg.Peers {
			peers[i] = raft.Peer{ID: id}
		}
		if err := rn.Bootstrap(peers); err != nil {
			return fmt.Errorf("replica: bootstrap: %w", err)
		}
	}
	r.applied.set(max(l.applied, l.smApplied))
	r.publish()
	return nil
}

// raftConfig leaves Applied at the log's snapshot: raft replays the log from
// there so conf changes after the snapshot reach raft again on restart, and
// apply skips entries the state machine already holds.
func (r *Replica) raftConfig() *raft.Config {
	c := r.cfg
	readOnly := raft.ReadOnlySafe
	if c.LeaseReads {
		readOnly = raft.ReadOnlyLeaseBased
	}
	return &raft.Config{
		ReadOnlyOption:            readOnly,
		ID:                        c.ID,
		ElectionTick:              c.ElectionTicks,
		HeartbeatTick:             c.HeartbeatTicks,
		Storage:                   c.Log,
		MaxSizePerMsg:             c.MaxSizePerMsg,
		MaxInflightMsgs:           c.MaxInflightMsgs,
		MaxInflightBytes:          c.MaxInflightBytes,
		MaxUncommittedEntriesSize: c.MaxUncommittedEntriesSize,
		CheckQuorum:               true,
		PreVote:                   true,
		StepDownOnRemoval:         true,
		Logger:                    raftLogger{r.log},
	}
}

// Stopped is closed when Run has returned.
func (r *Replica) Stopped() <-chan struct{} { return r.stopped }

// Err is why Run returned (the fail-stop error or the ctx error); nil while running.
func (r *Replica) Err() error {
	select {
	case <-r.stopped:
		return r.err
	default:
		return nil
	}
}

// stop records why the replica stopped and releases every waiter.
func (r *Replica) stop(err error) {
	r.stopOnce.Do(func() {
		r.err = err
		close(r.stopped)
	})
}
