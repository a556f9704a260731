package storage

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestBlockCacheServesRepeatedReads guards the sizing of memtables against
// the block cache: Pebble reserves memtable memory inside the block cache,
// and memtables as large as the cache leave no room for blocks at all.
func TestBlockCacheServesRepeatedReads(t *testing.T) {
	e, err := Open("db", Options{FS: vfs.NewMem(), CacheBytes: 8 << 20})
	must(t, err)
	defer e.Close()
	const n = 20_000
	b := e.NewBatch(1)
	for i := range n {
		must(t, b.Put(fmt.Appendf(nil, "key%08d", i), make([]byte, 50)))
	}
	must(t, b.Commit(false))
	must(t, e.db.Flush())
	read := func() {
		v, err := e.View(1)
		must(t, err)
		defer v.Close()
		for i := range n {
			if _, ok, err := v.Get(fmt.Appendf(nil, "key%08d", i)); !ok || err != nil {
				t.Fatalf("key %d: %v %v", i, ok, err)
			}
		}
	}
	read()
	before := e.db.Metrics().BlockCache
	read()
	after := e.db.Metrics().BlockCache
	hits, misses := after.Hits-before.Hits, after.Misses-before.Misses
	if misses*10 > hits {
		t.Fatalf("second pass: %d block cache hits, %d misses", hits, misses)
	}
}
