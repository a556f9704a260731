package storage

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// InitialState returns the saved hard state (nil if none) and the conf
// state of the latest snapshot.
func (l *RaftLog) InitialState() (*raftpb.HardState, *raftpb.ConfState, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var hs *raftpb.HardState
	if l.hs != nil {
		hs = proto.Clone(l.hs).(*raftpb.HardState)
	}
	cs := proto.Clone(raftpb.EnsureConfState(l.snap.ConfState)).(*raftpb.ConfState)
	return hs, cs, nil
}

// FirstIndex is the first index possibly available through Entries.
func (l *RaftLog) FirstIndex() (uint64, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.first, nil
}

// LastIndex is the index of the last entry (the dummy's when empty).
func (l *RaftLog) LastIndex() (uint64, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.last, nil
}

// Snapshot returns the latest snapshot's metadata. Its Data is empty: the
// state travels separately, as a stream from Engine.WriteState.
func (l *RaftLog) Snapshot() (*raftpb.Snapshot, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	meta := proto.Clone(l.snap).(*raftpb.SnapshotMetadata)
	return raftpb.EnsureSnapshot(&raftpb.Snapshot{Metadata: meta}), nil
}

// Term returns the term of entry i, for i in [FirstIndex()-1, LastIndex()].
func (l *RaftLog) Term(i uint64) (uint64, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.termLocked(i)
}

func (l *RaftLog) termLocked(i uint64) (uint64, error) {
	switch {
	case i < l.first-1:
		return 0, raft.ErrCompacted
	case i == l.first-1:
		return l.dummyTerm, nil
	case i > l.last:
		return 0, raft.ErrUnavailable
	}
	if ce, ok := l.cache.get(i); ok {
		return ce.e.GetTerm(), nil
	}
	var term uint64
	err := l.readEntries(i, i+1, func(e *raftpb.Entry, _ uint64) bool {
		term = e.GetTerm()
		return false
	})
	return term, err
}

// Entries returns the entries [lo, hi), at most maxSize bytes of them but
// at least one.
func (l *RaftLog) Entries(lo, hi, maxSize uint64) ([]*raftpb.Entry, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	switch {
	case lo < l.first:
		return nil, raft.ErrCompacted
	case hi > l.last+1:
		return nil, fmt.Errorf("storage: shard %d raft log: entries hi %d beyond last index %d", l.shard, hi, l.last)
	case l.last < l.first:
		return nil, raft.ErrUnavailable // only the dummy entry
	case lo >= hi:
		return []*raftpb.Entry{}, nil
	}
	out := make([]*raftpb.Entry, 0, min(hi-lo, 64))
	var size uint64
	add := func(e *raftpb.Entry, esize uint64) bool {
		size += esize
		if len(out) > 0 && size > maxSize {
			return false
		}
		out = append(out, e)
		return true
	}
	cached := l.cache.firstIndex()
	if cached == 0 || lo < cached {
		end := hi
		if cached != 0 {
			end = min(hi, cached)
		}
		if err := l.readEntries(lo, end, add); err != nil {
			return nil, err
		}
		if uint64(len(out)) < end-lo {
			return out, nil // size limit reached
		}
	}
	for i := lo + uint64(len(out)); i < hi; i++ {
		ce, ok := l.cache.get(i) // the cache covers [cached, last]
		if !ok {
			return nil, l.corrupt(fmt.Sprintf("entry cache misses %d", i), nil)
		}
		if !add(ce.e, ce.size) {
			break
		}
	}
	return out, nil
}

// readEntries reads entries [lo, hi) from Pebble in order, calling fn with
// each and its encoded size until fn returns false. A gap is corruption.
func (l *RaftLog) readEntries(lo, hi uint64, fn func(*raftpb.Entry, uint64) bool) error {
	it, err := l.e.db.NewIter(l.entryBounds(lo, hi))
	if err != nil {
		return fmt.Errorf("storage: raft log: %w", err)
	}
	next, stopped := lo, false
	for ok := it.First(); ok && !stopped; ok = it.Next() {
		var e *raftpb.Entry
		var size uint64
		if e, size, err = l.decodeEntry(it, next); err != nil {
			return closeErr(it, err)
		}
		next++
		stopped = !fn(e, size)
	}
	err = it.Error()
	if err == nil && !stopped && next < hi {
		err = l.corrupt(fmt.Sprintf("entry %d missing", next), nil)
	}
	return closeErr(it, err)
}

// decodeEntry decodes the entry under it, which must have index want.
func (l *RaftLog) decodeEntry(it *pebble.Iterator, want uint64) (*raftpb.Entry, uint64, error) {
	if index, ok := entryIndex(it.Key()); !ok || index != want {
		return nil, 0, l.corrupt(fmt.Sprintf("entry %d missing", want), nil)
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return nil, 0, fmt.Errorf("storage: raft log: %w", err)
	}
	e := &raftpb.Entry{}
	if err := proto.Unmarshal(v, e); err != nil {
		return nil, 0, l.corrupt(fmt.Sprintf("entry %d", want), err)
	}
	if e.GetIndex() != want {
		return nil, 0, l.corrupt(fmt.Sprintf("entry %d holds index %d", want, e.GetIndex()), nil)
	}
	return e, uint64(len(v)), nil
}

// entryBounds are iterator bounds for entries [lo, hi); hi 0 = to the end.
func (l *RaftLog) entryBounds(lo, hi uint64) *pebble.IterOptions {
	upper := entryKeyEnd(l.shard)
	if hi != 0 {
		upper = entryKey(l.shard, hi)
	}
	return &pebble.IterOptions{LowerBound: entryKey(l.shard, lo), UpperBound: upper}
}
