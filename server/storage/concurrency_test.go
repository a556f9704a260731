package storage

import (
	"fmt"
	"sync"
	"testing"
)

// TestViewsSeeWholeBatches reads with Views while batches commit: every
// view sees the keys of exactly the batches up to its applied index.
func TestViewsSeeWholeBatches(t *testing.T) {
	e := openEngine(t, nil)
	const batches, perBatch = 200, 5
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := uint64(1); i <= batches; i++ {
			b := e.NewBatch(1)
			for j := range perBatch {
				if err := b.Put(fmt.Appendf(nil, "k%04d-%d", i, j), []byte("v")); err != nil {
					t.Error(err)
					return
				}
			}
			if err := firstErr(b.SetApplied(i, 1), b.Commit(false), b.Close()); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for last := uint64(0); last < batches; {
				v, err := e.View(1)
				if err != nil {
					t.Error(err)
					return
				}
				n := 0
				err = v.Scan(nil, nil, func(k, _ []byte) bool { n++; return true })
				last = v.Applied()
				_ = v.Close()
				if err != nil || uint64(n) != last*perBatch {
					t.Errorf("reader %d: %d keys at applied %d (%v)", r, n, last, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
