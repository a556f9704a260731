//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// fuseResults are every run's figure, by metric and target.
type fuseResults struct {
	vals      map[string]map[string][]float64 // metric → target → one per round
	errs      map[string]map[string]int       // failed operations (or failed runs)
	firstErr  map[string]string               // metric → the first failure seen
	coldReads bool                            // the page cache was dropped before every read
}

func newFuseResults() *fuseResults {
	return &fuseResults{vals: map[string]map[string][]float64{}, errs: map[string]map[string]int{},
		firstErr: map[string]string{}, coldReads: true}
}

func (r *fuseResults) add(metric, target string, v float64) {
	if r.vals[metric] == nil {
		r.vals[metric] = map[string][]float64{}
	}
	r.vals[metric][target] = append(r.vals[metric][target], v)
}

func (r *fuseResults) fail(metric, target string, n int, err string) {
	if n == 0 {
		return
	}
	if r.errs[metric] == nil {
		r.errs[metric] = map[string]int{}
	}
	r.errs[metric][target] += n
	if r.firstErr[metric] == "" {
		r.firstErr[metric] = target + ": " + err
	}
	logf("%s %s: %d failed, first: %s", target, metric, n, err)
}

// measure runs o.rounds rounds (tar only in the first o.tarRounds, as it
// is the longest). Within a round each workload runs on every target
// before the next workload starts, and the targets' order rotates
// from round to round, so that no target always runs first (or right
// after the 1 GiB write of another).
func (fe *fuseEnv) measure(ctx context.Context, o fuseOptions) (*fuseResults, error) {
	res := newFuseResults()
	block := newSeqBlock()
	for round := range o.rounds {
		order := rotate(fe.targets, round)
		logf("round %d of %d (%s first), load average %s", round+1, o.rounds, order[0].name, loadAvg())
		for _, w := range o.workloads {
			if w == "tar" && round >= o.tarRounds {
				continue
			}
			for _, t := range order {
				if err := fe.runOne(ctx, w, t, round, o, block, res); err != nil {
					return res, err
				}
				if err := fe.alive(); err != nil {
					return res, err
				}
			}
		}
	}
	return res, nil
}

func rotate[T any](s []T, n int) []T {
	n %= len(s)
	return append(slices.Clone(s[n:]), s[:n]...)
}

// runOne runs one workload on one target and records its figures. A
// failure is recorded and the run goes on; only the end of ctx stops it.
func (fe *fuseEnv) runOne(ctx context.Context, workload string, t fuseTarget, round int, o fuseOptions, block []byte, res *fuseResults) error {
	switch workload {
	case "seq":
		return runSeqOnce(ctx, t, round, o.size, block, res)
	case "meta":
		return runMetaOnce(ctx, t, round, o, res)
	case "tar":
		return runTarOnce(ctx, t, round, fe.tarball, res)
	}
	return fmt.Errorf("unknown workload %q", workload)
}

func runTarOnce(ctx context.Context, t fuseTarget, round int, tarball string, res *fuseResults) error {
	d, err := extractTar(ctx, tarball, filepath.Join(t.dir, fmt.Sprintf("tar-r%d", round)))
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		res.fail("tar", t.name, 1, err.Error())
		return nil
	}
	res.add("tar", t.name, d.Seconds())
	logf("%s tar -xf: %.2f s", t.name, d.Seconds())
	return nil
}

func runSeqOnce(ctx context.Context, t fuseTarget, round int, size int64, block []byte, res *fuseResults) error {
	path := filepath.Join(t.dir, fmt.Sprintf("seq-r%d", round))
	defer os.Remove(path)
	mib := float64(size) / (1 << 20)
	wd, sum, err := writeSeq(ctx, path, size, block)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res.fail("write", t.name, 1, err.Error())
		return nil
	}
	res.add("write", t.name, mib/wd.Seconds())
	if err := dropCaches(); err != nil && res.coldReads {
		res.coldReads = false
		logf("cannot drop the page cache (%v): reads may be served from memory", err)
	}
	rd, err := readSeq(ctx, path, size, sum, block)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res.fail("read", t.name, 1, err.Error())
		return nil
	}
	res.add("read", t.name, mib/rd.Seconds())
	logf("%s seq %s: write+fsync %.0f MiB/s, read %.0f MiB/s", t.name, sizeString(size), mib/wd.Seconds(), mib/rd.Seconds())
	return nil
}

func runMetaOnce(ctx context.Context, t fuseTarget, round int, o fuseOptions, res *fuseResults) error {
	dir := filepath.Join(t.dir, fmt.Sprintf("meta-r%d", round))
	r, err := runMeta(ctx, dir, o.files, o.workers)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		res.fail("create", t.name, 1, err.Error())
		return nil
	}
	for _, p := range []struct {
		metric string
		r      phaseResult
	}{{"create", r.create}, {"stat", r.stat}, {"unlink", r.unlink}} {
		res.add(p.metric, t.name, p.r.OpsPerSec)
		res.fail(p.metric, t.name, p.r.Errors, p.r.FirstErr)
	}
	logf("%s %d files, %d workers: create %.0f, stat %.0f, unlink %.0f ops/s", t.name, o.files, o.workers,
		r.create.OpsPerSec, r.stat.OpsPerSec, r.unlink.OpsPerSec)
	if err := os.RemoveAll(dir); err != nil {
		logf("%s: removing %s: %v", t.name, dir, err)
	}
	return nil
}
