package replica

import (
	"context"
	"io"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// Entry is one committed log entry as the state machine sees it.
type Entry struct {
	Index, Term uint64
	Type        raftpb.EntryType
	// Data is the proposed payload without the replica's proposal header.
	// It is empty for the entry a new leader appends and nil for conf changes.
	Data []byte
	// ConfState is set for conf-change entries: the state after ApplyConfChange.
	ConfState *raftpb.ConfState
	// ConfChange is set for conf-change entries (V1 changes are converted).
	ConfChange *raftpb.ConfChangeV2
}

// StateMachine is the replicated state of one shard.
type StateMachine interface {
	// Applied is the durable applied index (restart skips entries <= it).
	Applied() uint64
	// Apply applies entries in one storage batch together with the applied
	// index and returns one result per entry. An error stops the replica.
	Apply(ctx context.Context, entries []Entry) ([]any, error)
	// WriteSnapshot streams a consistent copy of the state and returns the
	// applied index it reflects. It may run concurrently with Apply.
	WriteSnapshot(w io.Writer) (index uint64, err error)
	// RestoreSnapshot replaces the state (called on the replica's goroutine).
	// If reading r fails, the state must be left as it was.
	RestoreSnapshot(r io.Reader) error
}

// LogStore is the durable Raft log and hard state of one shard.
type LogStore interface {
	raft.Storage
	// Save persists the hard state (nil: unchanged) and entries in one batch,
	// synced when sync is true. Entries replace any at or after their first index.
	Save(hs *raftpb.HardState, ents []*raftpb.Entry, sync bool) error
	// ApplySnapshot replaces the log with the snapshot's metadata (the state
	// machine's data is restored separately).
	ApplySnapshot(snap *raftpb.Snapshot) error
	// CreateSnapshot records snapshot metadata at index (<= applied) so raft
	// can send it to a follower that is behind the log.
	CreateSnapshot(index uint64, cs *raftpb.ConfState) error
	// Compact discards entries before index. raft.ErrCompacted is tolerated.
	Compact(index uint64) error
}

// Transport carries messages to other replicas of the shard.
type Transport interface {
	// Send must not block. MsgSnap messages go through it too: the transport
	// streams the sending node's state (Replica.WriteSnapshot) with them and
	// reports the outcome with ReportSnapshot.
	Send(shard uint64, msgs []*raftpb.Message)
}
