package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/geomds/geomds/client"
)

// benchWorker is one bench client. Only its own goroutine touches it
// between setup and summarize.
type benchWorker struct {
	id   int
	c    *client.Client
	dir  string
	n    int      // operations to run
	live []string // files it created and has not removed
	seq  int      // for new names
	rng  *rand.Rand

	lat      []time.Duration // one per attempted operation
	errs     int
	firstErr error
}

// newName returns a fresh path in the worker's directory.
func (w *benchWorker) newName(kind string) string {
	w.seq++
	return path.Join(w.dir, fmt.Sprintf("%s-%d-%d", kind, w.id, w.seq))
}

// setup makes the worker's directory and the files its operation uses.
func (w *benchWorker) setup(ctx context.Context, s benchSpec) error {
	if err := w.c.MkdirAll(ctx, w.dir, 0o755); err != nil {
		return err
	}
	for range setupFiles(s, w.n) {
		p := w.newName("f")
		if _, err := w.c.Create(ctx, p, 0o644, true); err != nil {
			return err
		}
		w.live = append(w.live, p)
	}
	return nil
}

// readdirFiles is how many files a readdir bench lists per directory.
const readdirFiles = 100

// setupFiles is how many files a worker with n operations creates first.
func setupFiles(s benchSpec, n int) int {
	switch s.op {
	case "stat":
		return min(n, 1000) // stat cycles over them
	case "unlink", "rename":
		return n
	case "readdir":
		if s.dir == "shared" {
			return (readdirFiles + s.clients - 1) / s.clients
		}
		return readdirFiles
	case "mixed":
		return max(n/10, 10)
	}
	return 0
}

// run performs the worker's operations, timing each.
func (w *benchWorker) run(ctx context.Context, op benchOp, done *atomic.Int64) {
	w.lat = make([]time.Duration, 0, w.n)
	for i := 0; i < w.n && ctx.Err() == nil; i++ {
		start := time.Now()
		err := op(ctx, w, i)
		w.lat = append(w.lat, time.Since(start))
		if err != nil {
			w.errs++
			if w.firstErr == nil {
				w.firstErr = err
			}
		}
		done.Add(1)
	}
}

// timeWorkers starts every worker at once and returns the elapsed time
// until the last finished.
func (a *app) timeWorkers(ctx context.Context, s benchSpec, workers []*benchWorker) time.Duration {
	var done atomic.Int64
	stopProgress := a.progress(int64(s.ops), &done)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() {
			<-start
			w.run(ctx, benchOps[s.op], &done)
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	stopProgress()
	return elapsed
}

// summarize merges the workers' latencies into the result.
func summarize(s benchSpec, workers []*benchWorker, elapsed time.Duration) benchResult {
	r := benchResult{Op: s.op, Clients: s.clients}
	var lat []time.Duration
	for _, w := range workers {
		lat = append(lat, w.lat...)
		r.Errors += w.errs
	}
	r.Ops = len(lat)
	slices.Sort(lat)
	r.P50Ms, r.P99Ms = msRound(percentile(lat, 0.50)), msRound(percentile(lat, 0.99))
	if secs := elapsed.Seconds(); secs > 0 {
		r.OpsPerSec = float64(r.Ops-r.Errors) / secs
		r.OpsPerSec = float64(int64(r.OpsPerSec*10+0.5)) / 10
	}
	return r
}

// percentile returns the q-quantile of sorted (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted))+0.999999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// firstError returns the first failure of any worker, for the report.
func firstError(workers []*benchWorker) error {
	for _, w := range workers {
		if w.firstErr != nil {
			return w.firstErr
		}
	}
	return nil
}
