package storage

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// View is a consistent point-in-time read of one shard's state: the
// namespace's Reader. A View pins old versions in Pebble, so keep it short
// and Close it. A View is used by one goroutine at a time.
type View struct {
	snap    *pebble.Snapshot
	shard   uint64
	applied uint64
	term    uint64
	key     []byte // scratch for full keys
	vals    arena
}

// View opens a point-in-time reader of the shard's committed state.
func (e *Engine) View(shard uint64) (*View, error) {
	snap := e.db.NewSnapshot()
	index, term, err := readApplied(snap, shard)
	if err != nil {
		_ = snap.Close()
		return nil, err
	}
	return &View{snap: snap, shard: shard, applied: index, term: term}, nil
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
	if v.snap == nil {
		return nil
	}
	err := v.snap.Close()
	v.snap = nil
	if err != nil {
		return fmt.Errorf("storage: close view: %w", err)
	}
	return nil
}

func (v *View) get(ks keyspace, key []byte) ([]byte, bool, error) {
	if v.snap == nil {
		return nil, false, errViewClosed
	}
	v.key = appendKey(v.key[:0], v.shard, ks, key)
	return getCopy(v.snap, v.key, &v.vals)
}

func (v *View) scan(ks keyspace, start, end []byte, fn func(key, value []byte) bool) error {
	if v.snap == nil {
		return errViewClosed
	}
	lo, hi := scanBounds(v.shard, ks, start, end)
	it, err := v.snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("storage: scan: %w", err)
	}
	return iterate(it, fn)
}
