package storage

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Batch is one atomic write to a shard's state: the namespace's Tx. Reads
// see the committed state plus the batch's own writes. A Batch is used by
// one goroutine, and while it is open no one else writes the shard's state
// (the state machine applies on one goroutine); nothing is visible to
// others until Commit.
//
// Writes are held in a map, one entry per key, so that keys rewritten by
// many commands of a batch (the parent directory, counters, sessions)
// reach Pebble once, and a key created and deleted within the batch (an
// exactly-once result acknowledged by the next command) not at all. Reads
// of written keys are served from the map; other reads go to the engine's
// cache of committed state (stateCache), then to the DB, and a key found
// absent is remembered as absent. The Pebble batch is built
// at Commit; a Scan that must see this batch's writes first replays them
// into an indexed Pebble batch, whose iterator merges them over the DB, and
// from then on writes go to both.
type Batch struct {
	e      *Engine
	shard  uint64
	done   bool               // committed or closed
	ib     *pebble.Batch      // indexed batch, once a Scan needed one
	writes map[string]pending // full DB key -> this batch's view of it
	nwrite int                // writes made (the map also holds keys read as absent)
	key    []byte             // scratch for full keys, rebuilt by every call
	vals   arena              // copies of written and read values
}

// pending is what a batch knows of a key: its latest write (a value or a
// deletion), or that the DB does not hold it.
type pending struct {
	value    []byte
	deleted  bool // deleted by this batch, or absent (see dbAbsent)
	written  bool // written by this batch
	dbAbsent bool // the committed state does not hold the key
}

var (
	errBatchDone  = errors.New("storage: batch already committed or closed")
	errViewClosed = errors.New("storage: view closed")
)

// NewBatch starts a write batch on a shard. Close it when done (also after
// Commit).
func (e *Engine) NewBatch(shard uint64) *Batch {
	w, _ := e.writeMaps.Get().(map[string]pending)
	if w == nil {
		w = make(map[string]pending, 64)
	}
	return &Batch{e: e, shard: shard, writes: w}
}

// Get reads a namespace key. The value is valid until the batch is closed;
// callers must not modify it.
func (b *Batch) Get(key []byte) ([]byte, bool, error) { return b.get(ksNamespace, key) }

// Scan calls fn for each namespace key in [start, end) in ascending order,
// this batch's writes included; end nil = to the end of the keyspace. fn
// must not write to the batch.
func (b *Batch) Scan(start, end []byte, fn func(key, value []byte) bool) error {
	return b.scan(ksNamespace, start, end, fn)
}

// Put writes a namespace key. key and value may be reused after it returns.
func (b *Batch) Put(key, value []byte) error { return b.put(ksNamespace, key, value) }

// Delete removes a namespace key.
func (b *Batch) Delete(key []byte) error { return b.del(ksNamespace, key) }

// GetSys reads a replicated system key (conf state, member registry).
func (b *Batch) GetSys(key []byte) ([]byte, bool, error) { return b.get(ksSys, key) }

// ScanSys is Scan over the system keyspace.
func (b *Batch) ScanSys(start, end []byte, fn func(key, value []byte) bool) error {
	return b.scan(ksSys, start, end, fn)
}

// PutSys writes a replicated system key.
func (b *Batch) PutSys(key, value []byte) error { return b.put(ksSys, key, value) }

// DeleteSys removes a replicated system key.
func (b *Batch) DeleteSys(key []byte) error { return b.del(ksSys, key) }

// SetApplied records the index and term of the last entry this batch
// applies, so that the applied index commits atomically with the state.
func (b *Batch) SetApplied(index, term uint64) error {
	return b.put(ksApplied, nil, encodeIndexTerm(index, term))
}

// Commit writes the batch atomically; with sync it is durable on return.
// The batch cannot be used after Commit.
func (b *Batch) Commit(sync bool) error {
	if b.done {
		return errBatchDone
	}
	wb := b.ib
	if wb == nil {
		wb = b.e.db.NewBatch()
		if err := b.replay(wb); err != nil {
			_ = wb.Close()
			b.release()
			return err
		}
	}
	b.ib = nil
	err := b.e.commit(wb, sync)
	_ = wb.Close() // only reports misuse of an already closed batch
	if err == nil {
		b.e.state.committed(b.writes)
	} else {
		b.e.state.clear() // the DB's state is unknown; the engine has failed anyway
	}
	b.release()
	return err
}

// Close discards an uncommitted batch and releases its resources. It is
// safe to call more than once.
func (b *Batch) Close() error {
	b.release()
	return nil
}

func (b *Batch) release() {
	if b.done {
		return
	}
	b.done = true
	if b.ib != nil {
		_ = b.ib.Close()
		b.ib = nil
	}
	if len(b.writes) <= 1<<16 { // keep the pool from pinning huge maps
		clear(b.writes)
		b.e.writeMaps.Put(b.writes)
	}
	b.writes = nil
}

// replay adds the batch's writes to wb: the latest per key, and nothing for
// keys that end deleted but were never in the DB.
func (b *Batch) replay(wb *pebble.Batch) error {
	for k, p := range b.writes {
		var op *pebble.DeferredBatchOp
		switch {
		case !p.written || (p.deleted && p.dbAbsent):
			continue
		case p.deleted:
			op = wb.DeleteDeferred(len(k))
		default:
			op = wb.SetDeferred(len(k), len(p.value))
			copy(op.Value, p.value)
		}
		copy(op.Key, k)
		if err := op.Finish(); err != nil {
			return fmt.Errorf("storage: batch: %w", err)
		}
	}
	return nil
}

func (b *Batch) get(ks keyspace, key []byte) ([]byte, bool, error) {
	if b.done {
		return nil, false, errBatchDone
	}
	b.key = appendKey(b.key[:0], b.shard, ks, key)
	if p, ok := b.writes[string(b.key)]; ok {
		return p.value, !p.deleted, nil
	}
	cv, cached := b.e.state.get(b.key)
	if !cached {
		v, ok, err := getCopy(b.e.db, b.key, &b.vals)
		if err != nil {
			return nil, false, err
		}
		b.e.state.fill(b.key, v, ok)
		cv = cachedValue{v: v, present: ok}
	}
	if !cv.present {
		b.writes[string(b.key)] = pending{deleted: true, dbAbsent: true}
	}
	return cv.v, cv.present, nil
}

func (b *Batch) put(ks keyspace, key, value []byte) error {
	if b.done {
		return errBatchDone
	}
	b.key = appendKey(b.key[:0], b.shard, ks, key)
	prev := b.writes[string(b.key)]
	b.writes[string(b.key)] = pending{value: b.vals.copy(value), written: true, dbAbsent: prev.dbAbsent}
	b.nwrite++
	if b.ib != nil {
		if err := b.ib.Set(b.key, value, nil); err != nil {
			return fmt.Errorf("storage: put: %w", err)
		}
	}
	return nil
}

func (b *Batch) del(ks keyspace, key []byte) error {
	if b.done {
		return errBatchDone
	}
	b.key = appendKey(b.key[:0], b.shard, ks, key)
	prev := b.writes[string(b.key)]
	b.writes[string(b.key)] = pending{deleted: true, written: true, dbAbsent: prev.dbAbsent}
	b.nwrite++
	if b.ib != nil {
		if err := b.ib.Delete(b.key, nil); err != nil {
			return fmt.Errorf("storage: delete: %w", err)
		}
	}
	return nil
}

func (b *Batch) scan(ks keyspace, start, end []byte, fn func(key, value []byte) bool) error {
	if b.done {
		return errBatchDone
	}
	var r interface {
		NewIter(*pebble.IterOptions) (*pebble.Iterator, error)
	} = b.e.db
	if b.nwrite > 0 {
		if err := b.index(); err != nil {
			return err
		}
		r = b.ib // merges this batch's writes over the DB
	}
	lo, hi := scanBounds(b.shard, ks, start, end)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("storage: scan: %w", err)
	}
	return iterate(it, fn)
}

// index builds the indexed batch a merged Scan needs.
func (b *Batch) index() error {
	if b.ib != nil {
		return nil
	}
	ib := b.e.db.NewIndexedBatch()
	if err := b.replay(ib); err != nil {
		_ = ib.Close()
		return err
	}
	b.ib = ib
	return nil
}

// iterate runs fn over every key of a bounded iterator, stripping the
// shard and keyspace prefix, and closes it.
func iterate(it *pebble.Iterator, fn func(key, value []byte) bool) error {
	var err error
	for ok := it.First(); ok; ok = it.Next() {
		var v []byte
		if v, err = it.ValueAndErr(); err != nil || !fn(it.Key()[prefixLen:], v) {
			break
		}
	}
	if err == nil {
		err = it.Error()
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("storage: scan: %w", err)
	}
	return nil
}
