package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Save persists new entries and the hard state in one Pebble batch, synced
// when sync is set (rd.MustSync). Entries starting at index i replace any
// stored entries at i and after (a conflicting tail from an older term);
// entries at or below the truncated index are ignored, as MemoryStorage
// ignores them. An empty hard state is not written.
func (l *RaftLog) Save(hs *raftpb.HardState, ents []*raftpb.Entry, sync bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	ents, err := l.newEntriesLocked(ents)
	if err != nil {
		return err
	}
	wb := l.e.db.NewBatch()
	defer wb.Close()
	cached, err := l.writeEntriesLocked(wb, ents)
	if err != nil {
		return err
	}
	saveHS := hs != nil && !raft.IsEmptyHardState(hs)
	if saveHS {
		if err := setProto(wb, keyspaceStart(l.shard, ksHardState), hs); err != nil {
			return err
		}
	}
	if wb.Empty() {
		return nil
	}
	if err := l.e.commit(wb, sync); err != nil {
		return err
	}
	if len(cached) > 0 {
		l.last = cached[len(cached)-1].e.GetIndex()
		l.cache.append(cached)
	}
	if saveHS {
		l.hs = proto.Clone(hs).(*raftpb.HardState)
	}
	return nil
}

// newEntriesLocked drops the entries already compacted away and checks that
// the rest are consecutive and follow the log without a gap.
func (l *RaftLog) newEntriesLocked(ents []*raftpb.Entry) ([]*raftpb.Entry, error) {
	if len(ents) == 0 {
		return nil, nil
	}
	from := ents[0].GetIndex()
	if from+uint64(len(ents))-1 < l.first {
		return nil, nil // all compacted
	}
	if from < l.first {
		ents = ents[l.first-from:]
		from = l.first
	}
	if from > l.last+1 {
		return nil, fmt.Errorf("storage: shard %d raft log: append at %d leaves a gap after last index %d", l.shard, from, l.last)
	}
	for i, e := range ents {
		if e.GetIndex() != from+uint64(i) {
			return nil, fmt.Errorf("storage: shard %d raft log: entries not consecutive at %d", l.shard, e.GetIndex())
		}
	}
	return ents, nil
}

// writeEntriesLocked adds the entries to wb, first deleting the stored tail
// they replace, and returns them with their sizes for the cache.
func (l *RaftLog) writeEntriesLocked(wb *pebble.Batch, ents []*raftpb.Entry) ([]cachedEntry, error) {
	if len(ents) == 0 {
		return nil, nil
	}
	from := ents[0].GetIndex()
	if from <= l.last {
		if err := wb.DeleteRange(entryKey(l.shard, from), entryKeyEnd(l.shard), nil); err != nil {
			return nil, fmt.Errorf("storage: raft log: %w", err)
		}
	}
	out := make([]cachedEntry, len(ents))
	key := entryKey(l.shard, 0)
	for i, e := range ents {
		var err error
		if l.buf, err = (proto.MarshalOptions{}).MarshalAppend(l.buf[:0], e); err != nil {
			return nil, fmt.Errorf("storage: raft log: marshal entry %d: %w", e.GetIndex(), err)
		}
		key = binary.BigEndian.AppendUint64(key[:prefixLen], e.GetIndex())
		if err := wb.Set(key, l.buf, nil); err != nil {
			return nil, fmt.Errorf("storage: raft log: %w", err)
		}
		out[i] = cachedEntry{e: e, size: uint64(len(l.buf))}
	}
	return out, nil
}

func setProto(wb *pebble.Batch, key []byte, m proto.Message) error {
	v, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("storage: marshal %T: %w", m, err)
	}
	if err := wb.Set(key, v, nil); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	return nil
}

// ApplySnapshot records a snapshot received from the leader: its metadata
// becomes the latest snapshot, every log entry is dropped (the log restarts
// after the snapshot index, as in MemoryStorage), and the hard state's
// commit is raised to the snapshot index so that a restart before the next
// Save still finds a consistent log. The snapshot's Data, if any, is
// ignored: the state is restored separately with Engine.RestoreState.
// Synced.
func (l *RaftLog) ApplySnapshot(snap *raftpb.Snapshot) error {
	meta := &raftpb.SnapshotMetadata{}
	if m := snap.GetMetadata(); m != nil {
		meta = proto.Clone(m).(*raftpb.SnapshotMetadata)
	}
	meta.ConfState = raftpb.EnsureConfState(meta.ConfState)
	index, term := meta.GetIndex(), meta.GetTerm()
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur := l.snap.GetIndex(); cur != 0 && cur >= index {
		return raft.ErrSnapOutOfDate
	}
	hs := &raftpb.HardState{}
	if l.hs != nil {
		hs = proto.Clone(l.hs).(*raftpb.HardState)
	}
	if hs.GetCommit() < index {
		hs.Commit = proto.Uint64(index)
	}
	wb := l.e.db.NewBatch()
	defer wb.Close()
	if err := firstErr(
		wb.DeleteRange(entryKey(l.shard, 0), entryKeyEnd(l.shard), nil),
		wb.Set(keyspaceStart(l.shard, ksTruncated), encodeIndexTerm(index, term), nil),
		setProto(wb, keyspaceStart(l.shard, ksSnapshot), meta),
		setProto(wb, keyspaceStart(l.shard, ksHardState), hs),
	); err != nil {
		return err
	}
	if err := l.e.commit(wb, true); err != nil {
		return err
	}
	l.snap, l.hs = meta, hs
	l.first, l.last, l.dummyTerm = index+1, index, term
	l.cache.clear()
	return nil
}

// CreateSnapshot records snapshot metadata at index (term taken from the
// log) with conf state cs (nil keeps the previous conf state), for raft to
// send to followers and for InitialState after a restart. Call it with the
// ConfState in force at index. Not synced: the WAL keeps it ordered before
// any later write that depends on it.
func (l *RaftLog) CreateSnapshot(index uint64, cs *raftpb.ConfState) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if index <= l.snap.GetIndex() {
		return raft.ErrSnapOutOfDate
	}
	if index > l.last {
		return fmt.Errorf("storage: shard %d raft log: snapshot %d beyond last index %d", l.shard, index, l.last)
	}
	term, err := l.termLocked(index)
	if err != nil {
		return err
	}
	meta := proto.Clone(l.snap).(*raftpb.SnapshotMetadata)
	meta.Index, meta.Term = proto.Uint64(index), proto.Uint64(term)
	if cs != nil {
		meta.ConfState = proto.Clone(cs).(*raftpb.ConfState)
	}
	wb := l.e.db.NewBatch()
	defer wb.Close()
	if err := setProto(wb, keyspaceStart(l.shard, ksSnapshot), meta); err != nil {
		return err
	}
	if err := l.e.commit(wb, false); err != nil {
		return err
	}
	l.snap = meta
	return nil
}

// Compact discards the entries before index: index becomes the dummy entry
// (its term is kept for Term, its data is gone) and FirstIndex becomes
// index+1, as in MemoryStorage. The stored entries up to index are removed
// with one range deletion. The caller must not compact beyond its applied
// index. Not synced, like CreateSnapshot.
func (l *RaftLog) Compact(index uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if index < l.first {
		return raft.ErrCompacted
	}
	if index > l.last {
		return fmt.Errorf("storage: shard %d raft log: compact %d beyond last index %d", l.shard, index, l.last)
	}
	term, err := l.termLocked(index)
	if err != nil {
		return err
	}
	wb := l.e.db.NewBatch()
	defer wb.Close()
	if err := firstErr(
		wb.DeleteRange(entryKey(l.shard, 0), entryKey(l.shard, index+1), nil),
		wb.Set(keyspaceStart(l.shard, ksTruncated), encodeIndexTerm(index, term), nil),
	); err != nil {
		return fmt.Errorf("storage: raft log: %w", err)
	}
	if err := l.e.commit(wb, false); err != nil {
		return err
	}
	l.first, l.dummyTerm = index+1, term
	l.cache.dropBefore(index + 1)
	return nil
}
