package main

import (
	"context"
	"slices"
	"sync"
	"time"
)

// opFunc performs operation j of worker w.
type opFunc func(ctx context.Context, w, j int) error

// phaseResult is one system's figures for one operation at one level.
type phaseResult struct {
	Ops       int     `json:"ops"`
	Errors    int     `json:"errors"`
	OpsPerSec float64 `json:"ops_per_sec"` // successful operations per second of wall time
	P50Ms     float64 `json:"p50_ms"`      // of every attempt, failed ones included
	P99Ms     float64 `json:"p99_ms"`
	FirstErr  string  `json:"first_error,omitempty"`
	// CPU time per successful operation, in microseconds: of the system's
	// server processes, and of this process (its clients); 0 = not measured.
	ServerCPUUs float64 `json:"server_cpu_us_per_op,omitempty"`
	ClientCPUUs float64 `json:"client_cpu_us_per_op,omitempty"`
}

// share is how many of ops worker w of n runs: an even split, the first
// ones taking the remainder.
func share(ops, n, w int) int {
	if w < ops%n {
		return ops/n + 1
	}
	return ops / n
}

// runPhase starts workers goroutines at once, each running its share of
// ops operations back to back, and times them until the last finishes.
func runPhase(ctx context.Context, workers, ops int, op opFunc) phaseResult {
	lats := make([][]time.Duration, workers)
	errs := make([]int, workers)
	firstErrs := make([]error, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			n := share(ops, workers, w)
			lats[w] = make([]time.Duration, 0, n)
			<-start
			for j := 0; j < n && ctx.Err() == nil; j++ {
				t0 := time.Now()
				err := op(ctx, w, j)
				lats[w] = append(lats[w], time.Since(t0))
				if err != nil {
					errs[w]++
					if firstErrs[w] == nil {
						firstErrs[w] = err
					}
				}
			}
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	return summarize(lats, errs, firstErrs, time.Since(t0))
}

func summarize(lats [][]time.Duration, errs []int, firstErrs []error, elapsed time.Duration) phaseResult {
	var r phaseResult
	all := slices.Concat(lats...)
	r.Ops = len(all)
	for w, e := range errs {
		r.Errors += e
		if firstErrs[w] != nil && r.FirstErr == "" {
			r.FirstErr = firstErrs[w].Error()
		}
	}
	if elapsed > 0 {
		r.OpsPerSec = float64(r.Ops-r.Errors) / elapsed.Seconds()
	}
	r.P50Ms, r.P99Ms = ms(percentile(all, 50)), ms(percentile(all, 99))
	return r
}

// percentile is the nearest-rank percentile p of d (sorted in place).
func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := (len(d)*p + 99) / 100
	return d[max(i-1, 0)]
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)) / float64(time.Millisecond)
}
