package replica

import (
	"errors"
	"log/slog"
	"time"
)

// Config configures one replica. Zero values take the defaults noted.
type Config struct {
	Shard uint64 // shard (Raft group) ID, stamped on every message sent
	ID    uint64 // this node's ID within the group; never reused
	// Peers are the initial voters when bootstrapping a brand-new group; nil
	// when restarting or joining (ignored when the LogStore is not empty).
	Peers []uint64

	Log       LogStore
	SM        StateMachine
	Transport Transport

	// TickInterval drives raft's clock in Run; 0 means ticks come only from Tick.
	TickInterval time.Duration
	// ElectionTicks (default 10) and HeartbeatTicks (default 1) are in ticks.
	ElectionTicks, HeartbeatTicks int
	// SnapshotEntries: snapshot and compact every N applied entries (default 10000).
	SnapshotEntries uint64
	// CompactKeep: entries kept behind the snapshot for slow followers (default 5000).
	CompactKeep uint64
	// MaxSizePerMsg bytes per append message (default 1 MiB).
	MaxSizePerMsg uint64
	// MaxInflightMsgs append messages in flight per follower (default 256).
	MaxInflightMsgs int
	// MaxInflightBytes in flight per follower (default 0: no limit); size it to
	// bandwidth × RTT.
	MaxInflightBytes uint64
	// MaxUncommittedEntriesSize bytes of uncommitted log before raft drops
	// proposals (default 64 MiB).
	MaxUncommittedEntriesSize uint64

	// LeaseReads answers ReadIndex from the leader's lease instead of a
	// heartbeat round: a STRONG read at the leader costs no round trip and
	// one at a follower costs one. It relies on CheckQuorum (a leader cut
	// off from a quorum steps down within an election timeout, before any
	// other node may be elected) and on clocks that run at about the same
	// rate; the lease is not used while a leader transfer is in progress.
	LeaseReads bool

	Logger *slog.Logger // default slog.Default()
}

const (
	defaultElectionTicks   = 10
	defaultHeartbeatTicks  = 1
	defaultSnapshotEntries = 10000
	defaultCompactKeep     = 5000
	defaultMaxSizePerMsg   = 1 << 20
	defaultMaxInflightMsgs = 256
	defaultMaxUncommitted  = 64 << 20
)

// withDefaults validates the config and fills in defaults.
func (c Config) withDefaults() (Config, error) {
	switch {
	case c.ID == 0:
		return c, errors.New("replica: ID must be non-zero")
	case c.Log == nil || c.SM == nil || c.Transport == nil:
		return c, errors.New("replica: Log, SM and Transport are required")
	}
	if c.ElectionTicks == 0 {
		c.ElectionTicks = defaultElectionTicks
	}
	if c.HeartbeatTicks == 0 {
		c.HeartbeatTicks = defaultHeartbeatTicks
	}
	if c.SnapshotEntries == 0 {
		c.SnapshotEntries = defaultSnapshotEntries
	}
	if c.CompactKeep == 0 {
		c.CompactKeep = defaultCompactKeep
	}
	if c.MaxSizePerMsg == 0 {
		c.MaxSizePerMsg = defaultMaxSizePerMsg
	}
	if c.MaxInflightMsgs == 0 {
		c.MaxInflightMsgs = defaultMaxInflightMsgs
	}
	if c.MaxUncommittedEntriesSize == 0 {
		c.MaxUncommittedEntriesSize = defaultMaxUncommitted
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}
