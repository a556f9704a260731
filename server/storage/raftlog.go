package storage

import (
	"fmt"
	"sync"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// RaftLog is one shard's Raft log, hard state and snapshot metadata: a
// raft.Storage with the write methods the Ready loop needs. Its answers
// match raft.MemoryStorage's. Entries up to and including the truncated
// index (the "dummy" entry) are gone; only the dummy's term is kept.
//
// All methods are safe for concurrent use; a write holds the lock through
// its Pebble commit, so raft reads wait for an in-flight fsync.
type RaftLog struct {
	e     *Engine
	shard uint64

	mu        sync.RWMutex
	first     uint64 // first index that may be stored; first-1 is the dummy
	dummyTerm uint64 // term of entry first-1
	last      uint64 // last index of the log (first-1 when empty)
	hs        *raftpb.HardState
	snap      *raftpb.SnapshotMetadata // latest snapshot; never nil
	cache     entryCache
	buf       []byte // scratch for marshalling entries, guarded by mu (write lock)
}

var _ raft.Storage = (*RaftLog)(nil)

// RaftLog returns the shard's raft log, loading its bounds on first use.
// Every call for a shard returns the same RaftLog.
func (e *Engine) RaftLog(shard uint64) (*RaftLog, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if l, ok := e.logs[shard]; ok {
		return l, nil
	}
	l := &RaftLog{e: e, shard: shard, cache: newEntryCache()}
	if err := l.load(); err != nil {
		return nil, err
	}
	e.logs[shard] = l
	return l, nil
}

func (l *RaftLog) load() error {
	db := l.e.db
	l.hs = nil
	if v, ok, err := getCopy(db, keyspaceStart(l.shard, ksHardState), nil); err != nil {
		return err
	} else if ok {
		l.hs = &raftpb.HardState{}
		if err := proto.Unmarshal(v, l.hs); err != nil {
			return l.corrupt("hard state", err)
		}
	}
	l.snap = raftpb.EnsureSnapshotMetadata(nil)
	if v, ok, err := getCopy(db, keyspaceStart(l.shard, ksSnapshot), nil); err != nil {
		return err
	} else if ok {
		if err := proto.Unmarshal(v, l.snap); err != nil {
			return l.corrupt("snapshot metadata", err)
		}
		l.snap = raftpb.EnsureSnapshotMetadata(l.snap)
	}
	return l.loadBounds()
}

func (l *RaftLog) loadBounds() error {
	v, ok, err := getCopy(l.e.db, keyspaceStart(l.shard, ksTruncated), nil)
	if err != nil {
		return err
	}
	var dummy uint64
	if ok {
		if dummy, l.dummyTerm, ok = decodeIndexTerm(v); !ok {
			return l.corrupt("truncated state", nil)
		}
	}
	l.first, l.last = dummy+1, dummy
	last, found, err := l.lastStoredIndex()
	if err != nil {
		return err
	}
	if found {
		if last < dummy {
			return l.corrupt(fmt.Sprintf("last entry %d below truncated index %d", last, dummy), nil)
		}
		l.last = last
	}
	return nil
}

func (l *RaftLog) lastStoredIndex() (uint64, bool, error) {
	it, err := l.e.db.NewIter(l.entryBounds(0, 0))
	if err != nil {
		return 0, false, fmt.Errorf("storage: raft log: %w", err)
	}
	var index uint64
	found := it.Last()
	if found {
		var ok bool
		if index, ok = entryIndex(it.Key()); !ok {
			err = l.corrupt("entry key", nil)
		}
	}
	return index, found, closeErr(it, firstErr(err, it.Error()))
}

func (l *RaftLog) corrupt(what string, err error) error {
	if err != nil {
		return fmt.Errorf("storage: shard %d raft log: corrupt %s: %w", l.shard, what, err)
	}
	return fmt.Errorf("storage: shard %d raft log: corrupt %s", l.shard, what)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
