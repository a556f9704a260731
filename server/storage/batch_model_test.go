package storage

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestBatchMatchesModel runs random reads, writes, scans, commits and
// discards on Batches over a small key space and checks every answer, and
// the committed state, against a plain map.
//
// It runs with the state cache at its default size, so small that it
// evicts all the time, and off: the answers must not depend on it.
func TestBatchMatchesModel(t *testing.T) {
	for _, cache := range []int64{0, 400, -1} {
		for seed := range uint64(20) {
			t.Run(fmt.Sprintf("cache=%d/%d", cache, seed), func(t *testing.T) {
				runBatchModel(t, seed, cache)
			})
		}
	}
}

func runBatchModel(t *testing.T, seed uint64, cacheBytes int64) {
	rng := rand.New(rand.NewPCG(seed, 11))
	e, err := Open("db", Options{FS: vfs.NewMem(), StateCacheBytes: cacheBytes})
	must(t, err)
	t.Cleanup(func() { _ = e.Close() })
	committed := map[string]string{}
	for range 30 {
		checkBatchRun(t, e, rng, committed)
	}
}

// checkBatchRun runs one batch of random operations, then commits or
// discards it, updating committed to match.
func checkBatchRun(t *testing.T, e *Engine, rng *rand.Rand, committed map[string]string) {
	t.Helper()
	b := e.NewBatch(1)
	defer b.Close()
	view := maps.Clone(committed)
	randKey := func() string { return fmt.Sprintf("k%02d", rng.IntN(30)) }
	for op := range rng.IntN(60) {
		switch k := randKey(); rng.IntN(5) {
		case 0, 1:
			want, wok := view[k]
			got, ok := getString(t, b.Get, k)
			if ok != wok || got != want {
				t.Fatalf("op %d: Get(%s) = %q %v, want %q %v", op, k, got, ok, want, wok)
			}
		case 2:
			v := fmt.Sprint(rng.IntN(1000))
			must(t, b.Put([]byte(k), []byte(v)))
			view[k] = v
		case 3:
			must(t, b.Delete([]byte(k)))
			delete(view, k)
		case 4:
			lo, hi := randKey(), randKey()
			if got, want := fmtKV(scanAll(t, b.Scan, []byte(lo), []byte(hi))), modelScan(view, lo, hi); got != want {
				t.Fatalf("op %d: Scan(%s,%s) = %s, want %s", op, lo, hi, got, want)
			}
		}
	}
	if rng.IntN(4) == 0 {
		must(t, b.Close()) // discarded: nothing changes
	} else {
		must(t, b.Commit(rng.IntN(2) == 0))
		clear(committed)
		maps.Copy(committed, view)
	}
	v, err := e.View(1)
	must(t, err)
	defer v.Close()
	if got, want := fmtKV(scanAll(t, v.Scan, nil, nil)), modelScan(committed, "", "~"); got != want {
		t.Fatalf("committed state %s, want %s", got, want)
	}
}

func modelScan(m map[string]string, lo, hi string) string {
	var out []kv
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k >= lo && k < hi {
			out = append(out, kv{k, m[k]})
		}
	}
	return fmtKV(out)
}

// TestStateCacheForgetsRestoredState: a key the apply path cached must
// read as the restored state says once RestoreState replaced the shard.
func TestStateCacheForgetsRestoredState(t *testing.T) {
	e := openEngine(t, nil)
	put := func(v string) {
		b := e.NewBatch(1)
		defer b.Close()
		must(t, b.Put([]byte("k"), []byte(v)))
		must(t, b.SetApplied(1, 1))
		must(t, b.Commit(true))
	}
	put("old")
	var stream bytes.Buffer
	_, err := e.WriteState(1, &stream)
	must(t, err)
	put("new")
	b := e.NewBatch(1)
	if v, ok := getString(t, b.Get, "k"); !ok || v != "new" {
		t.Fatalf("before restore: %q %v", v, ok)
	}
	must(t, b.Close())
	must(t, e.RestoreState(1, &stream))
	b = e.NewBatch(1)
	defer b.Close()
	if v, ok := getString(t, b.Get, "k"); !ok || v != "old" {
		t.Fatalf("after restore: %q %v, want the restored \"old\"", v, ok)
	}
}
