package sim

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"testing/cryptotest"
	"testing/synctest"
	"time"

	"github.com/anishathalye/porcupine"
)

var (
	flagSeeds = flag.Int("sim.seeds", 0, "seeds per test (0: the CI default)")
	flagFirst = flag.Uint64("sim.first", 1, "first seed of a multi-seed run")
	flagSeed  = flag.Uint64("sim.seed", 0, "replay this one seed (0: run -sim.seeds seeds)")
	flagTrace = flag.Bool("sim.trace", false, "print the trace tail of every run, not only of failures")
	flagTail  = flag.Int("sim.tail", 120, "events of the trace to print")

	flagLeasePause = flag.Bool("sim.leasepause", false, "also pause leaders in runs with lease reads (finds stale reads)")
	flagKeepGoing  = flag.Bool("sim.keepgoing", false, "report every failing seed instead of stopping at the first")
)

// Seeds per test in CI; each test stays within its time budget (see the
// package's docs for measurements).
const (
	defaultSafetySeeds   = 300
	defaultLivenessSeeds = 150
	// defaultDeterminismSeeds run twice in each mode.
	defaultDeterminismSeeds = 4
)

// linearizabilityTimeout bounds porcupine; a timeout is a failure.
const linearizabilityTimeout = 20 * time.Second

// outcome is what one run produced.
type outcome struct {
	err     error
	history []porcupine.Operation
	trace   string
	hash    uint64
	steps   int
	stats   stats

	checkTime time.Duration // spent in the linearizability checker
}

// simulate runs one seed in a synctest bubble with crypto/rand (raft's
// election jitter) seeded too, then checks the history.
func simulate(t *testing.T, cfg simConfig) outcome {
	t.Helper()
	cryptotest.SetGlobalRandom(t, cfg.seed)
	var out outcome
	synctest.Test(t, func(*testing.T) {
		w := newWorld(cfg)
		out.err = w.run()
		out.history, out.hash, out.steps = w.history, w.trace.hash, w.trace.count
		w.rec.counts(&w.stats)
		w.stats.ops = len(w.history)
		out.stats = w.stats
		out.trace = w.trace.tail(*flagTail)
	})
	if out.err == nil {
		start := time.Now()
		if out.err = checkHistory(namespaceModel(), out.history); out.err != nil && cfg.bug == noBug {
			out.err = fmt.Errorf("%w\n%s", out.err, explain(out.history))
		}
		out.checkTime = time.Since(start)
	}
	return out
}

// checkHistory checks linearizability; a checker timeout is a failure.
func checkHistory(m porcupine.Model, h []porcupine.Operation) error {
	switch res := porcupine.CheckOperationsTimeout(m, h, linearizabilityTimeout); res {
	case porcupine.Ok:
		return nil
	case porcupine.Illegal:
		return fmt.Errorf("history of %d operations is not linearizable", len(h))
	default:
		return fmt.Errorf("linearizability checker timed out on %d operations", len(h))
	}
}

// seeds lists the seeds a test runs: the replayed one, or a range.
func seeds(def int) []uint64 {
	if *flagSeed != 0 {
		return []uint64{*flagSeed}
	}
	n := *flagSeeds
	if n <= 0 {
		n = def
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = *flagFirst + uint64(i)
	}
	return out
}

// runSeeds runs every seed in mode m and stops at the first failure,
// printing how to replay it.
func runSeeds(t *testing.T, test string, m mode, def int) {
	start, steps := time.Now(), 0
	var total stats
	var checkTime, worstCheck time.Duration
	for _, seed := range seeds(def) {
		cfg := configFor(seed, m)
		out := simulate(t, cfg)
		steps += out.steps
		total.add(out.stats)
		checkTime += out.checkTime
		worstCheck = max(worstCheck, out.checkTime)
		if *flagTrace {
			t.Logf("seed %d: %d events, trace hash %x, %v\n%s", seed, out.steps, out.hash, out.stats, out.trace)
		}
		switch {
		case out.err != nil && *flagKeepGoing:
			t.Errorf("%s seed %d: %v", m, seed, strings.SplitN(out.err.Error(), "\n", 2)[0])
		case out.err != nil:
			t.Fatalf("%s seed %d (%d nodes): %v\nlast events:\n%s\nreplay: go test ./server/sim -run '^%s$' -sim.seed=%d%s -v",
				m, seed, cfg.nodes, out.err, out.trace, test, seed, replayFlags())
		}
	}
	t.Logf("%s: %d seeds, %d events in %v (linearizability checks %v, worst %v): %v", m, len(seeds(def)), steps,
		time.Since(start).Round(time.Millisecond), checkTime.Round(time.Millisecond), worstCheck.Round(time.Millisecond), total)
}

// replayFlags are the flags that change a run and must be repeated to
// replay it.
func replayFlags() string {
	if *flagLeasePause {
		return " -sim.leasepause"
	}
	return ""
}

// TestSim is the safety suite: faults never stop; Raft's safety, the
// replicas' agreement and the namespace's invariants are checked after
// every input, and the history must be linearizable.
func TestSim(t *testing.T) { runSeeds(t, "TestSim", safetyMode, defaultSafetySeeds) }

// TestSimLiveness: faults stop half-way; then a write must commit within a
// bound of simulated ticks and the members must converge.
func TestSimLiveness(t *testing.T) {
	runSeeds(t, "TestSimLiveness", livenessMode, defaultLivenessSeeds)
}

// TestSimDeterministic runs seeds forward, then again in reverse order,
// and requires identical traces: a failing seed replays exactly, whatever
// ran before it in the process.
func TestSimDeterministic(t *testing.T) {
	type run struct {
		seed uint64
		m    mode
	}
	var runs []run
	for _, seed := range seeds(defaultDeterminismSeeds) {
		runs = append(runs, run{seed, safetyMode}, run{seed, livenessMode})
	}
	first := map[run]outcome{}
	for _, r := range runs {
		first[r] = simulate(t, configFor(r.seed, r.m))
	}
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		a, b := first[r], simulate(t, configFor(r.seed, r.m))
		if a.hash != b.hash || a.steps != b.steps || len(a.history) != len(b.history) {
			t.Fatalf("%s seed %d ran differently twice: %d/%d events, %d/%d operations, trace %x/%x\nfirst:\n%s\nsecond:\n%s",
				r.m, r.seed, a.steps, b.steps, len(a.history), len(b.history), a.hash, b.hash, a.trace, b.trace)
		}
	}
}
