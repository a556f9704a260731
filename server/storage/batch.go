package storage

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Batch is one atomic write to a shard's state: the namespace's Tx. Reads
// see the committed state plus the batch's own writes. A Batch is used by
// one goroutine; nothing is visible to others until Commit.
//
// Reads of keys this batch wrote are served from a map; other reads go to
// the DB. Writes go both to the map and to an indexed Pebble batch, whose
// iterator merges them over the DB for Scan.
type Batch struct {
	e      *Engine
	shard  uint64
	wb     *pebble.Batch      // indexed; nil once committed or closed
	writes map[string]pending // full DB key -> the latest write of this batch
	key    []byte             // scratch for full keys, rebuilt by every call
	vals   arena              // copies of written and read values
}

// pending is a write held by a batch: a value, or a deletion.
type pending struct {
	value   []byte
	deleted bool
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
	return &Batch{e: e, shard: shard, wb: e.db.NewIndexedBatch(), writes: w}
}

// Get reads a namespace key. The value is valid until the batch is closed;
// callers must not modify it.
func (b *Batch) Get(key []byte) ([]byte, bool, error) { return b.get(ksNamespace, key) }

// Scan calls fn for each namespace key in [start, end) in ascending order,
// this batch's writes included; end nil = to the end of the keyspace. Writes
// made by fn are not seen by the running scan.
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
	if b.wb == nil {
		return errBatchDone
	}
	return b.wb.Set(keyspaceStart(b.shard, ksApplied), encodeIndexTerm(index, term), nil)
}

// Commit writes the batch atomically; with sync it is durable on return.
// The batch cannot be written after Commit.
func (b *Batch) Commit(sync bool) error {
	if b.wb == nil {
		return errBatchDone
	}
	err := b.e.commit(b.wb, sync)
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
	if b.wb == nil {
		return
	}
	_ = b.wb.Close() // only reports misuse of an already closed batch
	b.wb = nil
	if len(b.writes) <= 1<<16 { // keep the pool from pinning huge maps
		clear(b.writes)
		b.e.writeMaps.Put(b.writes)
	}
	b.writes = nil
}

func (b *Batch) get(ks keyspace, key []byte) ([]byte, bool, error) {
	if b.wb == nil {
		return nil, false, errBatchDone
	}
	b.key = appendKey(b.key[:0], b.shard, ks, key)
	if p, ok := b.writes[string(b.key)]; ok {
		return p.value, !p.deleted, nil
	}
	return getCopy(b.e.db, b.key, &b.vals)
}

func (b *Batch) put(ks keyspace, key, value []byte) error {
	if b.wb == nil {
		return errBatchDone
	}
	b.key = appendKey(b.key[:0], b.shard, ks, key)
	if err := b.wb.Set(b.key, value, nil); err != nil {
		return fmt.Errorf("storage: put: %w", err)
	}
	b.writes[string(b.key)] = pending{value: b.vals.copy(value)}
	return nil
}

func (b *Batch) del(ks keyspace, key []byte) error {
	if b.wb == nil {
		return errBatchDone
	}
	b.key = appendKey(b.key[:0], b.shard, ks, key)
	if err := b.wb.Delete(b.key, nil); err != nil {
		return fmt.Errorf("storage: delete: %w", err)
	}
	b.writes[string(b.key)] = pending{deleted: true}
	return nil
}

func (b *Batch) scan(ks keyspace, start, end []byte, fn func(key, value []byte) bool) error {
	if b.wb == nil {
		return errBatchDone
	}
	var r interface {
		NewIter(*pebble.IterOptions) (*pebble.Iterator, error)
	} = b.e.db
	if len(b.writes) > 0 {
		r = b.wb // merges this batch's writes over the DB
	}
	lo, hi := scanBounds(b.shard, ks, start, end)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("storage: scan: %w", err)
	}
	return iterate(it, fn)
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
