package replicatest

import (
	"sync"

	"github.com/geomds/geomds/server/replica"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// MemLog is a replica.LogStore over raft.MemoryStorage. It survives a
// replica restart when the same instance is passed to replica.New again.
type MemLog struct {
	*raft.MemoryStorage

	mu      sync.Mutex
	saveErr error // guarded by mu; returned by every Save while set
	saves   int   // guarded by mu
	syncs   int   // guarded by mu
}

var _ replica.LogStore = (*MemLog)(nil)

// NewMemLog returns an empty log.
func NewMemLog() *MemLog { return &MemLog{MemoryStorage: raft.NewMemoryStorage()} }

// Save appends entries and records the hard state.
func (l *MemLog) Save(hs *raftpb.HardState, ents []*raftpb.Entry, sync bool) error {
	l.mu.Lock()
	err := l.saveErr
	l.saves++
	if sync {
		l.syncs++
	}
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if err := l.Append(ents); err != nil {
		return err
	}
	if hs != nil {
		return l.SetHardState(proto.Clone(hs).(*raftpb.HardState))
	}
	return nil
}

// CreateSnapshot records snapshot metadata (no data: the state machine
// streams its own state).
func (l *MemLog) CreateSnapshot(index uint64, cs *raftpb.ConfState) error {
	_, err := l.MemoryStorage.CreateSnapshot(index, cs, nil)
	return err
}

// SetSaveErr makes every later Save fail with err (nil to stop failing).
func (l *MemLog) SetSaveErr(err error) {
	l.mu.Lock()
	l.saveErr = err
	l.mu.Unlock()
}

// Saves reports how many Save calls were made and how many asked to sync.
func (l *MemLog) Saves() (saves, syncs int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.saves, l.syncs
}
