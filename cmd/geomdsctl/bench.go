package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path"
	"slices"
	"time"

	"github.com/geomds/geomds/client"
	"github.com/spf13/cobra"
)

// benchSpec is what one bench run does.
type benchSpec struct {
	op      string // a key of benchOps
	clients int    // concurrent clients, each with its own connection and client ID
	ops     int    // total operations, split evenly across clients
	dir     string // shared: all clients in one directory; unique: one each
	prefix  string // the run's directory is created under it
	keep    bool   // keep the run's files afterwards
}

// benchResult is the -o json document of a run.
type benchResult struct {
	Op        string  `json:"op"`
	Clients   int     `json:"clients"`
	Ops       int     `json:"ops"`
	Errors    int     `json:"errors"`
	OpsPerSec float64 `json:"ops_per_sec"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
}

func (a *app) benchCommand() *cobra.Command {
	var s benchSpec
	cmd := &cobra.Command{
		Use:   "bench --op create|stat|unlink|mkdir|readdir|rename|mixed --clients N --ops N [--dir shared|unique]",
		Short: "measure metadata operations (setup is not timed)",
		Long: "bench runs --ops operations split across --clients concurrent clients under a fresh\n" +
			"directory below --prefix, and prints throughput and latency percentiles. Files the\n" +
			"operation needs (to stat, unlink, rename, list) are created before timing starts.\n" +
			"mixed is 70% stat, 15% create, 5% unlink, 5% rename, 5% readdir.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := s.check(); err != nil {
				return err
			}
			res, err := a.runBench(cmd.Context(), s)
			if err != nil {
				return err
			}
			return a.printBench(res)
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.op, "op", "create", "operation: "+fmt.Sprint(benchOpNames()))
	f.IntVar(&s.clients, "clients", 1, "concurrent clients")
	f.IntVar(&s.ops, "ops", 1000, "total operations across all clients")
	f.StringVar(&s.dir, "dir", "unique", "shared: one directory for all clients; unique: one per client")
	f.StringVar(&s.prefix, "prefix", "/bench", "directory under which the run's directory is made")
	f.BoolVar(&s.keep, "keep", false, "keep the files the run created")
	return cmd
}

func benchOpNames() []string {
	names := make([]string, 0, len(benchOps))
	for n := range benchOps {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (s benchSpec) check() error {
	switch {
	case benchOps[s.op] == nil:
		return usagef("--op %q: want one of %v", s.op, benchOpNames())
	case s.clients < 1 || s.ops < 1:
		return usagef("--clients and --ops must be at least 1")
	case s.dir != "shared" && s.dir != "unique":
		return usagef("--dir %q: want shared or unique", s.dir)
	}
	return nil
}

// runBench sets up, times the operations, and cleans up.
func (a *app) runBench(ctx context.Context, s benchSpec) (benchResult, error) {
	admin, err := a.client(ctx)
	if err != nil {
		return benchResult{}, err
	}
	runDir := path.Join(absPath(s.prefix), fmt.Sprintf("run-%08x", rand.Uint32()))
	if err := admin.MkdirAll(ctx, runDir, 0o755); err != nil {
		return benchResult{}, err
	}
	if !s.keep {
		defer func() {
			if err := admin.RemoveAll(context.WithoutCancel(ctx), runDir); err != nil {
				a.warn("geomdsctl: bench cleanup: %v", err)
			}
		}()
	}
	workers, err := a.benchWorkers(ctx, s, runDir)
	defer closeWorkers(workers)
	if err != nil {
		return benchResult{}, err
	}
	elapsed := a.timeWorkers(ctx, s, workers)
	if err := firstError(workers); err != nil {
		a.warn("geomdsctl: bench: first error: %v", err)
	}
	return summarize(s, workers, elapsed), nil
}

// benchWorkers connects one client per worker and runs each worker's setup
// concurrently.
func (a *app) benchWorkers(ctx context.Context, s benchSpec, runDir string) ([]*benchWorker, error) {
	workers := make([]*benchWorker, s.clients)
	for i := range workers {
		c, err := client.New(ctx, a.config())
		if err != nil {
			return workers[:i], err
		}
		dir := path.Join(runDir, "shared")
		if s.dir == "unique" {
			dir = path.Join(runDir, fmt.Sprintf("c%d", i))
		}
		workers[i] = &benchWorker{id: i, c: c, dir: dir, n: s.ops/s.clients + b2i(i < s.ops%s.clients),
			rng: rand.New(rand.NewPCG(uint64(i), 1))}
	}
	errs := make(chan error, len(workers))
	for _, w := range workers {
		go func() { errs <- w.setup(ctx, s) }()
	}
	var first error
	for range workers {
		if err := <-errs; err != nil && first == nil {
			first = fmt.Errorf("bench setup: %w", err)
		}
	}
	return workers, first
}

func closeWorkers(workers []*benchWorker) {
	for _, w := range workers {
		w.c.Close() //nolint:errcheck // the run is over
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (a *app) printBench(r benchResult) error {
	if a.json() {
		return a.printJSON(r)
	}
	_, err := fmt.Fprintf(a.stdout, "%s: %d clients, %d ops, %d errors: %.1f ops/s, p50 %.3f ms, p99 %.3f ms\n",
		r.Op, r.Clients, r.Ops, r.Errors, r.OpsPerSec, r.P50Ms, r.P99Ms)
	return err
}

// msRound is d in milliseconds, to the microsecond.
func msRound(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)) / float64(time.Millisecond)
}
