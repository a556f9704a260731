package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// The robustness suite, after etcd's tests/robustness: three `geomds serve`
// processes whose peer links run through a fault proxy, a few recorded
// clients running a mix of namespace calls with STRONG reads, and one fault
// per run. The history must be linearizable against the model, the cluster
// must make progress again after the fault, and afterwards every node must
// serve the same tree and pass an offline fsck.

var (
	robustnessRuns    = flag.Int("robustness.runs", 2, "TestRobustness: runs, one fault each (consecutive runs inject different faults)")
	robustnessSeed    = flag.Int64("robustness.seed", 0, "TestRobustness: seed of the first run (0: from the clock); run i uses seed+i")
	robustnessFault   = flag.String("robustness.fault", "", "TestRobustness: kill|pause|blackhole|delay|transfer|member (default: the seed's)")
	robustnessPhase   = flag.Duration("robustness.phase", 3*time.Second, "TestRobustness: length of the phases before, during and after the fault")
	robustnessClients = flag.Int("robustness.clients", 4, "TestRobustness: concurrent recorded clients")
	robustnessCheck   = flag.Duration("robustness.check-timeout", 2*time.Minute, "TestRobustness: bound on the linearizability check (running out fails the run)")
)

// faultKind is what one run does to the cluster.
type faultKind string

const (
	faultKill      faultKind = "kill"      // kill -9 a node, restart it later
	faultPause     faultKind = "pause"     // SIGSTOP a node, SIGCONT it later
	faultBlackhole faultKind = "blackhole" // drop everything on a node's peer links
	faultDelay     faultKind = "delay"     // add delay on a node's peer links
	faultTransfer  faultKind = "transfer"  // move the leadership
	faultMember    faultKind = "member"    // replace a follower: remove it, rejoin it under a new name, promote it
)

var faultKinds = []faultKind{faultKill, faultPause, faultBlackhole, faultDelay, faultTransfer, faultMember}

func TestRobustness(t *testing.T) {
	seed := *robustnessSeed
	if seed == 0 {
		seed = time.Now().UnixNano()%1_000_000 + 1
	}
	for run := 0; run < *robustnessRuns; run++ {
		s := seed + int64(run)
		t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) { robustnessRun(t, s) })
	}
}

func robustnessRun(t *testing.T, seed int64) {
	r := rand.New(rand.NewPCG(uint64(seed), 0))
	kind := faultKinds[seed%int64(len(faultKinds))] // consecutive seeds, different faults
	if *robustnessFault != "" {
		kind = faultKind(*robustnessFault)
	}
	if !slices.Contains(faultKinds, kind) {
		t.Fatalf("unknown fault %q (want one of %v)", kind, faultKinds)
	}
	t.Logf("seed %d (repeat with -robustness.seed=%d -robustness.fault=%s)", seed, seed, kind)
	// Small snapshots, so a node that fell behind may catch up by one.
	fc := startFaultCluster(t, "--snapshot-entries", "500", "--compact-keep", "100")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	admin := fc.client(ctx)
	fc.leader(ctx, admin)
	root := fmt.Sprintf("/rob%d", seed)
	if _, err := admin.Mkdir(ctx, root, 0o755); err != nil {
		t.Fatal(err)
	}

	rec := newRecorder(*robustnessClients)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < *robustnessClients; i++ {
		w := &nsClient{c: fc.workloadClient(ctx, i), root: root, rec: rec, cli: i}
		wr := rand.New(rand.NewPCG(uint64(seed), uint64(i+1)))
		wg.Add(1)
		go func() { defer wg.Done(); w.run(ctx, wr, stop) }()
	}
	phase := *robustnessPhase
	sleepCtx(ctx, phase) // the "before" phase: the length is the point, not a synchronisation
	faultStart := time.Since(rec.start)
	what := fc.inject(ctx, t, admin, kind, r, phase)
	faultEnd := time.Since(rec.start)
	if !rec.waitAnswered(ctx, faultEnd, 20, 60*time.Second) {
		t.Errorf("no progress within 60s after the fault ended (%s)", what)
	}
	sleepCtx(ctx, phase)
	close(stop)
	wg.Wait()
	t.Logf("fault: %s\n%s", what, rec.figures(faultStart, faultEnd))
	final := &nsClient{c: admin, root: root, rec: rec, cli: int(rec.nextCli.Add(1))}
	final.readAll(ctx)
	if n := rec.weakReads.Load(); n > 0 {
		t.Errorf("%d reads were not served STRONG", n)
	}
	checkLinearizable(t, rec, seed)
	checkConverged(t, ctx, fc.procCluster, root)
	t.Logf("fsck: %s; snapshots restored: %s; unidentified peer connections: %d",
		strings.Join(fsckOffline(t, ctx, fc.procCluster), "; "), snapshotsRestored(fc.procCluster), fc.net.unidentified())
}

// workloadClient is workload client i's connection: the endpoints rotated
// by i, so the clients spread over the nodes.
func (fc *faultCluster) workloadClient(ctx context.Context, i int) *client.Client {
	eps := fc.endpoints()
	k := i % len(eps)
	eps = slices.Concat(eps[k:], eps[:k])
	c, err := client.New(ctx, client.Config{Endpoints: eps, Creds: &pb.Creds{}, Consistency: pb.Consistency_STRONG,
		RequestTimeout: 30 * time.Second, AttemptTimeout: 3 * time.Second})
	if err != nil {
		fc.t.Fatal(err)
	}
	fc.t.Cleanup(func() { c.Close() })
	return c
}

// readAll records a read of every path of the workload, after every client
// stopped: the history then ends on the full final state.
func (w *nsClient) readAll(ctx context.Context) {
	w.record(ctx, nsInput{Op: opReadDir})
	for _, p := range allPaths() {
		w.record(ctx, nsInput{Op: opLstat, Path: p})
	}
	for _, p := range topNames {
		w.record(ctx, nsInput{Op: opReadDir, Path: p})
	}
}

// inject applies one fault for about one phase and undoes it; it returns a
// description of what it did.
func (fc *faultCluster) inject(ctx context.Context, t *testing.T, admin *client.Client, kind faultKind, r *rand.Rand, phase time.Duration) string {
	t.Helper()
	leader := fc.leader(ctx, admin)
	target := leader
	if r.IntN(2) == 0 { // a follower half of the time
		target = (leader + 1 + r.IntN(len(fc.procs)-1)) % len(fc.procs)
	}
	who := fc.procs[target].name
	if target == leader {
		who += " (leader)"
	}
	switch kind {
	case faultKill:
		fc.killNode(target)
		sleepCtx(ctx, phase)
		fc.startNode(target)
		return fmt.Sprintf("kill -9 of %s, restarted after %s", who, phase)
	case faultPause:
		fc.procs[target].cmd.Process.Signal(syscall.SIGSTOP)
		sleepCtx(ctx, phase)
		fc.procs[target].cmd.Process.Signal(syscall.SIGCONT)
		return fmt.Sprintf("SIGSTOP of %s for %s", who, phase)
	case faultBlackhole:
		fc.net.blackhole(target, true)
		sleepCtx(ctx, phase)
		fc.net.blackhole(target, false)
		return fmt.Sprintf("blackhole of %s's peer links for %s", who, phase)
	case faultDelay:
		d := time.Duration(50+r.IntN(200)) * time.Millisecond
		fc.net.setDelay(target, d)
		sleepCtx(ctx, phase)
		fc.net.setDelay(target, 0)
		return fmt.Sprintf("%s one-way delay on %s's peer links for %s", d, who, phase)
	case faultTransfer:
		to := (leader + 1 + r.IntN(len(fc.procs)-1)) % len(fc.procs)
		return fc.transfer(ctx, t, admin, leader, to)
	case faultMember:
		if target == leader { // never the leader: RemoveMember of it would move the leadership too
			target = (leader + 1 + r.IntN(len(fc.procs)-1)) % len(fc.procs)
		}
		return fc.replaceMember(ctx, t, admin, target)
	}
	panic("unreachable: the fault kind was checked")
}

// transfer moves the leadership from node from to node to and waits until
// the cluster reports it, asking again while it has not happened (raft
// abandons a transfer to a node that does not catch up within an election
// timeout, which a loaded machine can cause).
func (fc *faultCluster) transfer(ctx context.Context, t *testing.T, admin *client.Client, from, to int) string {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tries := 0
	for ctx.Err() == nil {
		tries++
		if err := admin.TransferLeader(ctx, 1, fc.procs[to].name); err != nil {
			t.Logf("transfer leader to %s: %v", fc.procs[to].name, err)
		}
		for wait := time.Now().Add(5 * time.Second); time.Now().Before(wait); sleepCtx(ctx, 50*time.Millisecond) {
			if st, err := admin.Status(ctx, false); err == nil && len(st.GetShards()) > 0 && st.GetShards()[0].GetLeader() == fc.procs[to].name {
				return fmt.Sprintf("leader transfer %s -> %s (took %s, %d request(s))", fc.procs[from].name, fc.procs[to].name, time.Since(start).Round(time.Millisecond), tries)
			}
		}
	}
	t.Errorf("leader is not %s 30s after the transfer was asked", fc.procs[to].name)
	return fmt.Sprintf("leader transfer %s -> %s (never happened)", fc.procs[from].name, fc.procs[to].name)
}

// replaceMember replaces follower i by a new member in the same slot:
// RemoveMember of its name, kill -9 of its process, then AddMember of a new
// name (node IDs are never reused, so the node cannot come back as itself)
// as a learner at the slot's proxy address, `serve --join` with an empty
// data dir on the slot's --listen address (the workload clients and the
// proxy keep working), and PromoteMember once it has caught up.
func (fc *faultCluster) replaceMember(ctx context.Context, t *testing.T, admin *client.Client, i int) string {
	t.Helper()
	start := time.Now()
	p := fc.procs[i]
	old := p.name
	// The client retries Unavailable within its RequestTimeout; these loops
	// cover what outlives it and a retry whose first attempt was applied.
	tries, err := retryAdmin(ctx, t, "remove member "+old, 15*time.Second, func(ctx context.Context) error {
		_, err := admin.RemoveMember(ctx, old)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // an earlier attempt was applied
		}
		return err
	})
	if err != nil {
		t.Errorf("remove member %s: %v (%d tries)", old, err, tries)
		return fmt.Sprintf("member change of %s (remove failed: %v)", old, err)
	}
	removed := time.Since(start)
	fc.killNode(i)
	p.name = nextMemberName(old)
	p.dir = filepath.Join(fc.t.TempDir(), p.site+"-"+p.name)
	p.join = true
	if _, err := retryAdmin(ctx, t, "add member "+p.name, 15*time.Second, func(ctx context.Context) error {
		_, err := admin.AddMember(ctx, p.name, p.site, fc.net.proxies[i].addr, true)
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return err
	}); err != nil {
		t.Errorf("add member %s: %v", p.name, err)
		return fmt.Sprintf("member change %s -> %s (add failed: %v)", old, p.name, err)
	}
	fc.startNode(i)
	joined := time.Since(start)
	tries, err = retryAdmin(ctx, t, "", 30*time.Second, func(ctx context.Context) error {
		_, err := admin.PromoteMember(ctx, p.name)
		return err // EBUSY while it lags, EAGAIN off the leader; a voter already: success
	})
	if err != nil {
		t.Errorf("promote member %s: still failing 30s after it joined: %v (%d tries)", p.name, err, tries)
		return fmt.Sprintf("member change %s -> %s (promotion never succeeded)", old, p.name)
	}
	if ms, err := admin.MemberList(ctx); err != nil {
		t.Errorf("member list after the change: %v", err)
	} else {
		var got []string
		voter := false
		for _, m := range ms {
			got = append(got, fmt.Sprintf("%s(learner=%v)", m.GetName(), m.GetLearner()))
			if m.GetName() == old {
				t.Errorf("removed member %s is still listed: %v", old, ms)
			}
			voter = voter || (m.GetName() == p.name && !m.GetLearner())
		}
		if !voter || len(ms) != len(fc.procs) {
			t.Errorf("after the change the members are %v, want %d voters including %s", got, len(fc.procs), p.name)
		}
	}
	return fmt.Sprintf("member change: removed %s (%s), rejoined as learner %s with an empty data dir (%s), promoted after %d request(s) (took %s)",
		old, removed.Round(time.Millisecond), p.name, joined.Round(time.Millisecond), tries, time.Since(start).Round(time.Millisecond))
}

// retryAdmin calls f until it succeeds or limit passes, every 200 ms; it
// returns the number of calls and the last error. A non-empty what logs
// each failure.
func retryAdmin(ctx context.Context, t *testing.T, what string, limit time.Duration, f func(context.Context) error) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tries := 0
	for {
		tries++
		err := f(ctx)
		if err == nil {
			return tries, nil
		}
		if what != "" {
			t.Logf("%s: %v", what, err)
		}
		if !sleepCtx(ctx, 200*time.Millisecond) {
			return tries, err
		}
	}
}

// nextMemberName is the name of the member that replaces name: n2 -> n2b,
// n2b -> n2c.
func nextMemberName(name string) string {
	if k := len(name) - 1; k > 1 && name[k] >= 'b' && name[k] < 'z' && name[k-1] >= '0' && name[k-1] <= '9' {
		return name[:k] + string(name[k]+1)
	}
	return name + "b"
}

// checkLinearizable runs porcupine on the history; a violation or a check
// that runs out of time fails the run, and a violation is written out as
// porcupine's visualisation.
func checkLinearizable(t *testing.T, rec *recorder, seed int64) {
	t.Helper()
	hist := rec.history()
	start := time.Now()
	res, info := porcupine.CheckOperationsVerbose(nsModel, hist, *robustnessCheck)
	took := time.Since(start).Round(time.Millisecond)
	switch res {
	case porcupine.Ok:
		t.Logf("linearizable: ok (%s; %d operations, %d pending)", took, len(hist), rec.pending())
	case porcupine.Illegal:
		path := filepath.Join(os.TempDir(), fmt.Sprintf("geomds-robustness-%d.html", seed))
		if err := porcupine.VisualizePath(nsModel, info, path); err != nil {
			path = "(visualisation failed: " + err.Error() + ")"
		}
		t.Errorf("linearizable: NO (%s; %d operations); visualisation: %s", took, len(hist), path)
	default:
		t.Errorf("linearizable: unknown, the check ran out of time (%s; %d operations)", took, len(hist))
	}
}

// waitAnswered waits until n calls that started after since got an answer.
func (rec *recorder) waitAnswered(ctx context.Context, since time.Duration, n int, limit time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		if rec.answeredSince(since) >= n {
			return true
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			return false
		}
	}
}

func (rec *recorder) answeredSince(since time.Duration) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := 0
	for _, s := range rec.stats {
		if s.at >= since && s.outcome != callFailed {
			n++
		}
	}
	return n
}

// figures renders the calls before, during and after the fault: how many,
// how they ended, the answer rate and the latency of the slowest.
func (rec *recorder) figures(faultStart, faultEnd time.Duration) string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	type row struct {
		calls, ok, rejected, failed int
		took                        []time.Duration
	}
	var rows [3]row
	var last time.Duration
	for _, s := range rec.stats {
		i := 0
		switch {
		case s.at >= faultEnd:
			i = 2
		case s.at >= faultStart:
			i = 1
		}
		last = max(last, s.at)
		rw := &rows[i]
		rw.calls++
		rw.took = append(rw.took, s.took)
		switch s.outcome {
		case callOK:
			rw.ok++
		case callRejected:
			rw.rejected++
		default:
			rw.failed++
		}
	}
	spans := [3]time.Duration{faultStart, faultEnd - faultStart, last - faultEnd}
	var b strings.Builder
	fmt.Fprintf(&b, "%-7s %8s %7s %6s %8s %6s %10s %8s %8s\n", "phase", "duration", "calls", "ok", "rejected", "failed", "answered/s", "p99", "max")
	for i, name := range []string{"before", "during", "after"} {
		rw, secs := rows[i], max(spans[i].Seconds(), 0.001)
		p99, slowest := quantile(rw.took, 0.99), quantile(rw.took, 1)
		fmt.Fprintf(&b, "%-7s %8s %7d %6d %8d %6d %10.0f %8s %8s\n", name, spans[i].Round(10*time.Millisecond), rw.calls, rw.ok, rw.rejected, rw.failed,
			float64(rw.ok+rw.rejected)/secs, p99.Round(time.Millisecond), slowest.Round(time.Millisecond))
	}
	b.WriteString(rec.slowest(3))
	return b.String()
}

// slowest describes the n slowest calls. Callers hold rec.mu.
func (rec *recorder) slowest(n int) string {
	st := slices.Clone(rec.stats)
	slices.SortFunc(st, func(a, b callStat) int { return cmp.Compare(b.took, a.took) })
	var parts []string
	for _, s := range st[:min(n, len(st))] {
		parts = append(parts, fmt.Sprintf("%s at %s took %s", s.op, s.at.Round(time.Millisecond), s.took.Round(time.Millisecond)))
	}
	return "slowest: " + strings.Join(parts, ", ")
}

// quantile returns the q-quantile of ds (0 when empty); it sorts ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[int(q*float64(len(ds)-1))]
}
