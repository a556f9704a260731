package storage

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// View is a consistent point-in-time read of one shard's state: the
// namespace's Reader. It is built on one Pebble iterator, which sees the
// DB as of its creation and pins the memtables and tables of that moment,
// so keep a View short and Close it. A View is used by one goroutine at a
// time.
type View struct {
	it      *pebble.Iterator // over the shard's state; nil once closed
	shard   uint64
	applied uint64
	term    uint64
	key     []byte // scratch for full keys
	vals    arena
}

// View opens a point-in-time reader of the shard's committed state.
func (e *Engine) View(shard uint64) (*View, error) {
	it, err := e.db.NewIter(&pebble.IterOptions{
		LowerBound: keyspaceStart(shard, ksApplied),
		UpperBound: keyspaceStart(shard, ksStateEnd),
	})
	if err != nil {
		return nil, fmt.Errorf("storage: view: %w", err)
	}
	v := &View{it: it, shard: shard}
	val, ok, err := v.getFull(keyspaceStart(shard, ksApplied))
	if ok && err == nil {
		if v.applied, v.term, ok = decodeIndexTerm(val); !ok {
			err = fmt.Errorf("storage: shard %d: corrupt applied index (%d bytes)", shard, len(val))
		}
	}
	if err != nil {
		_ = v.Close()
		return nil, err
	}
	return v, nil
}

// Applied is the applied index of the state this view sees.
func (v *View) Applied() uint64 { return v.applied }

// AppliedTerm is the term of the entry at Applied.
func (v *View) AppliedTerm() uint64 { return v.term }

// Get reads a namespace key. The value stays valid until Close.
func (v *View) Get(key []byte) ([]byte, bool, error) { return v.get(ksNamespace, key) }

// Scan calls fn for each namespace key in [start, end), ascending; end nil
// = to the end of the keyspace.
func (v *View) Scan(start, end []byte, fn func(key, value []byte) bool) error {
	return v.scan(ksNamespace, start, end, fn)
}

// GetSys reads a replicated system key.
func (v *View) GetSys(key []byte) ([]byte, bool, error) { return v.get(ksSys, key) }

// ScanSys is Scan over the system keyspace.
func (v *View) ScanSys(start, end []byte, fn func(key, value []byte) bool) error {
	return v.scan(ksSys, start, end, fn)
}

// Close releases the view. It is safe to call more than once.
func (v *View) Close() error {
	if v.it == nil {
		return nil
	}
	err := v.it.Close()
	v.it = nil
	if err != nil {
		return fmt.Errorf("storage: close view: %w", err)
	}
	return nil
}

func (v *View) get(ks keyspace, key []byte) ([]byte, bool, error) {
	if v.it == nil {
		return nil, false, errViewClosed
	}
	v.key = appendKey(v.key[:0], v.shard, ks, key)
	return v.getFull(v.key)
}

// getFull is a point read: with the default comparer a key's prefix is the
// whole key, so SeekPrefixGE consults bloom filters and finds only key.
func (v *View) getFull(key []byte) ([]byte, bool, error) {
	if !v.it.SeekPrefixGE(key) || !bytes.Equal(v.it.Key(), key) {
		if err := v.it.Error(); err != nil {
			return nil, false, fmt.Errorf("storage: get: %w", err)
		}
		return nil, false, nil
	}
	val, err := v.it.ValueAndErr()
	if err != nil {
		return nil, false, fmt.Errorf("storage: get: %w", err)
	}
	return v.vals.copy(val), true, nil
}

func (v *View) scan(ks keyspace, start, end []byte, fn func(key, value []byte) bool) error {
	if v.it == nil {
		return errViewClosed
	}
	lo, hi := scanBounds(v.shard, ks, start, end)
	it, err := v.clone(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("storage: scan: %w", err)
	}
	return iterate(it, fn)
}

// clone opens another iterator on the view's point in time.
func (v *View) clone(o *pebble.IterOptions) (*pebble.Iterator, error) {
	return v.it.Clone(pebble.CloneOptions{IterOptions: o})
}
