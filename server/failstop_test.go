package server_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// The fail-stop suite: a node whose WAL sync fails must stop — not
// acknowledge, apply or serve anything more — while the others carry on,
// and must come back whole on the same data once the disk is healthy.

var (
	failstopRuns  = flag.Int("failstop.runs", 1, "TestFailStop: runs of each variant (follower, leader)")
	failstopFault = flag.String("failstop.fault", "fail", "TestFailStop: what an armed WAL sync does: fail (the suite), lie or off (demonstrations that the suite can fail)")
)

// Bounds of one run. Generous: a loaded 2-core machine may be slow.
const (
	ackedBeforeFault = 300              // acknowledged mkdirs before the fault is armed
	ackedAfterStop   = 30               // acknowledged by the other two after the target stopped
	stopWithin       = 20 * time.Second // from arming the fault to Node.Done
	keptRunningAcks  = 5                // target-only acks after the failure that prove it kept running
)

func TestFailStop(t *testing.T) {
	mode := parseFaultMode(t, *failstopFault)
	for _, target := range []string{"follower", "leader"} {
		t.Run(target, func(t *testing.T) {
			for i := 1; i <= *failstopRuns; i++ {
				t.Run(fmt.Sprint(i), func(t *testing.T) {
					r := runFailStop(t, target, mode)
					t.Log(r.figures())
					for _, v := range r.violations {
						t.Error(v)
					}
				})
			}
		})
	}
}

// TestFailStopCatchesLyingDisk: a follower whose WAL syncs silently do
// nothing keeps running, as a node that ignored its sync failures would;
// the suite must report it.
func TestFailStopCatchesLyingDisk(t *testing.T) {
	r := runFailStop(t, "follower", faultLie)
	t.Log(r.figures())
	all := strings.Join(r.violations, "\n")
	t.Logf("violations, as expected:\n%s", all)
	for _, want := range []string{"did not stop", "writes sent after its WAL sync failed"} {
		if !strings.Contains(all, want) {
			t.Errorf("no violation mentioning %q", want)
		}
	}
}

func parseFaultMode(t *testing.T, s string) faultMode {
	for _, m := range []faultMode{faultFail, faultLie, faultOff} {
		if m.String() == s {
			return m
		}
	}
	t.Fatalf("-failstop.fault=%q: want fail, lie or off", s)
	return faultOff
}

// failRun is one run: the cluster, the node that gets the fault, the
// writers and what was seen.
type failRun struct {
	t      *testing.T
	mode   faultMode
	c      *fsCluster
	target *fsNode
	all    *writer // talks to every node
	only   *writer // talks to the target alone: only it can acknowledge these
	mon    monitor
	image  *vfs.MemFS // the target's disk as a power loss would leave it
	report
}

// report is a run's figures and the violations it found.
type report struct {
	variant                     string
	role                        string // the target's at the moment the fault was armed
	ackedBefore, ackedAfterStop int
	inDoubt, cutOff             int // unanswered calls; those the end of the load cut off
	walSyncHits                 int64
	stopAfter                   time.Duration // first failed sync -> Node.Done
	answeredAfter               time.Duration // first failed sync -> last Status the target answered
	writePause                  time.Duration // first failed sync -> first acknowledgement of a write sent after it
	stopErr                     error
	newLeader                   string
	dur                         durable
	maxApplied, maxMatch        uint64
	restarted                   bool
	catchUp                     time.Duration
	listed                      int
	violations                  []string
}

func (r *report) violate(format string, args ...any) {
	r.violations = append(r.violations, fmt.Sprintf(format, args...))
}

func runFailStop(t *testing.T, variant string, mode faultMode) *report {
	checkNoLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := &failRun{t: t, mode: mode, c: startFSCluster(t)}
	r.variant = variant + "/" + mode.String()
	r.setUp(ctx, variant)

	load, stopLoad := context.WithCancel(ctx)
	done := r.startLoad(load)
	r.waitAcks(ctx, func() bool { return r.all.acks.Load()+r.only.acks.Load() >= ackedBeforeFault && r.only.acks.Load() > 0 })
	r.ackedBefore = int(r.all.acks.Load() + r.only.acks.Load())
	armed := time.Now()
	r.target.fault.set(mode)
	r.role = r.roleOf(r.target)
	if r.role != variant {
		t.Logf("leadership moved before the fault was armed: the target %s is a %s", r.target.peer.Name, r.role)
	}
	stopped := r.waitStop(ctx, armed)
	r.powerLoss(ctx)
	if stopped {
		r.waitOthers(ctx)
	}
	stopLoad()
	<-done
	r.target.fault.set(faultOff)

	r.checkStop(ctx, stopped)
	r.checkCalls()
	r.checkNoAckAfterFailure()
	if r.checkDurable() && mode == faultFail {
		r.checkRecovery(ctx)
	}
	return &r.report
}

// setUp waits for a leader, makes /fs, picks the target and the writers.
func (r *failRun) setUp(ctx context.Context, variant string) {
	t := r.t
	leader, err := r.c.waitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.target = leader
	if variant == "follower" {
		r.target = r.c.nodes[(indexOf(r.c.nodes, leader)+1)%len(r.c.nodes)]
	}
	if r.all, err = newWriter(ctx, "a", r.c.endpoints(), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.all.cl.Close() })
	if r.only, err = newWriter(ctx, "b", []string{r.target.peer.Address}, time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.only.cl.Close() })
	if err := r.all.cl.MkdirAll(ctx, "/fs", 0o755); err != nil {
		t.Fatal(err)
	}
}

func (r *failRun) roleOf(n *fsNode) string {
	if n.node.IsLeader() {
		return "leader"
	}
	return "follower"
}

func indexOf(nodes []*fsNode, n *fsNode) int {
	for i, m := range nodes {
		if m == n {
			return i
		}
	}
	return -1
}

// startLoad runs both writers and the monitor until ctx ends; the channel
// closes when all three have returned.
func (r *failRun) startLoad(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fin := make(chan struct{}, 3)
		go func() { r.all.run(ctx); fin <- struct{}{} }()
		go func() { r.only.run(ctx); fin <- struct{}{} }()
		go func() { r.mon.run(ctx, r.c, r.target); fin <- struct{}{} }()
		for range 3 {
			<-fin
		}
	}()
	return done
}

func (r *failRun) waitAcks(ctx context.Context, enough func() bool) {
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := poll(wctx, 20*time.Millisecond, func() error {
		if !enough() {
			return fmt.Errorf("acknowledged: %d through every node, %d through %s", r.all.acks.Load(), r.only.acks.Load(), r.target.peer.Name)
		}
		return nil
	}); err != nil {
		r.t.Fatal(err)
	}
}

// waitStop waits for the target to stop after the fault was armed. It gives
// up early when the target keeps acknowledging writes sent to it after its
// first failed sync: it is not going to stop.
func (r *failRun) waitStop(ctx context.Context, armed time.Time) bool {
	name := r.target.peer.Name
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	why := fmt.Sprintf("still running after %s", stopWithin)
wait:
	for {
		select {
		case <-r.target.node.Done():
			break wait
		case <-ctx.Done():
			why = ctx.Err().Error()
		case <-tick.C:
			hit := r.target.fault.firstHit()
			if hit.IsZero() || r.only.acksStartedAfter(hit, name) < keptRunningAcks {
				if time.Since(armed) < stopWithin {
					continue
				}
			} else {
				why = errKeptRunning.Error()
			}
		}
		r.walSyncHits = r.target.fault.hits.Load()
		r.violate("%s did not stop %s after its WAL sync was armed to %s (%d syncs hit): %s",
			name, time.Since(armed).Round(time.Millisecond), r.mode, r.walSyncHits, why)
		return false
	}
	r.walSyncHits = r.target.fault.hits.Load()
	r.stopErr = r.target.node.Err()
	if hit := r.target.fault.firstHit(); !hit.IsZero() {
		r.stopAfter = time.Since(hit)
	}
	return true
}

var errKeptRunning = errors.New("it kept acknowledging writes sent to it alone after its first failed sync")

// waitOthers waits until the other two have acknowledged more writes, and
// records the new leader.
func (r *failRun) waitOthers(ctx context.Context) {
	stoppedAt := time.Now()
	r.waitAcks(ctx, func() bool { return r.all.acksStartedAfter(stoppedAt, "") >= ackedAfterStop })
	r.ackedAfterStop = r.all.acksStartedAfter(stoppedAt, "")
	hit := r.target.fault.firstHit()
	first := time.Time{}
	for _, c := range r.all.history() {
		if c.err == nil && c.start.After(hit) && (first.IsZero() || c.end.Before(first)) {
			first = c.end
		}
	}
	r.writePause = first.Sub(hit)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if l, err := r.c.waitLeader(wctx); err == nil {
		r.newLeader = l.peer.Name
	}
}

// checkStop: the target stopped with the sync failure as its reason, no
// longer answers, and (when it led) another node leads now.
func (r *failRun) checkStop(ctx context.Context, stopped bool) {
	name := r.target.peer.Name
	if !stopped {
		r.target.node.Stop()
	} else {
		err := r.stopErr
		if err == nil || !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "sync") || !strings.Contains(err.Error(), ".log") {
			r.violate("%s stopped with Err() = %v; want the WAL sync's EIO", name, err)
		}
		if _, err := r.target.view(ctx); err == nil {
			r.violate("%s still answers Status after it stopped", name)
		}
		if r.newLeader == "" || r.newLeader == name {
			r.violate("after %s stopped the leader is %q", name, r.newLeader)
		}
	}
	r.target.node = nil
}

// checkCalls counts the calls left without an answer; an EEXIST (each call
// makes a new name) would be a retried mkdir applied twice.
func (r *failRun) checkCalls() {
	for _, w := range []*writer{r.all, r.only} {
		for _, c := range w.history() {
			switch {
			case client.ErrnoOf(c.err) == pb.Errno_EEXIST:
				r.violate("mkdir %s: %v", c.name, c.err)
			case c.cutOff:
				r.cutOff++
			case c.err != nil:
				r.inDoubt++
			}
		}
	}
}

// checkNoAckAfterFailure: no write sent after the target's first failed
// sync was acknowledged by the target (it cannot have applied it).
func (r *failRun) checkNoAckAfterFailure() {
	hit := r.target.fault.firstHit()
	if hit.IsZero() {
		return
	}
	name := r.target.peer.Name
	if n := r.only.acksStartedAfter(hit, name) + r.all.acksStartedAfter(hit, name); n > 0 {
		r.violate("%s acknowledged %d writes sent after its WAL sync failed", name, n)
	}
}

// powerLoss records what the target's disk would hold if the power failed
// now (only what was synced), together with what the target had told others
// by now: the applied index it reported and the log index it acknowledged
// to a leader. A target that stopped is past its failure; one that kept
// running is caught in the act.
func (r *failRun) powerLoss(ctx context.Context) {
	r.mon.sample(ctx, r.c, r.target)
	var last time.Time
	r.maxApplied, r.maxMatch, last = r.mon.get()
	if hit := r.target.fault.firstHit(); !hit.IsZero() {
		r.answeredAfter = last.Sub(hit)
	}
	r.image = r.target.mem.CrashClone(vfs.CrashCloneCfg{})
}

// checkDurable reads the target's store as the power loss left it, offline:
// everything it had acknowledged to a leader, and everything it had
// applied, must be there. It returns false when the store cannot be trusted
// to restart.
func (r *failRun) checkDurable() bool {
	name := r.target.peer.Name
	r.target.mem = r.image
	d, err := r.target.readDurable()
	if err != nil {
		r.violate("%s: reading its store after the power loss: %v", name, err)
		return false
	}
	r.dur = d
	ok := true
	if r.maxMatch > d.last {
		r.violate("%s acknowledged log index %d to the leader, but its durable log ends at %d", name, r.maxMatch, d.last)
		ok = false
	}
	if r.maxApplied > d.last {
		r.violate("%s reported applied index %d, but its durable log ends at %d", name, r.maxApplied, d.last)
		ok = false
	}
	if d.commit > d.last || d.applied > d.last {
		r.violate("%s: durable commit %d / applied %d beyond its durable log (last %d)", name, d.commit, d.applied, d.last)
		ok = false
	}
	return ok
}

// checkRecovery restarts the target without the fault: it catches up, and
// every node lists every acknowledged directory, nothing never attempted,
// and the same entries.
func (r *failRun) checkRecovery(ctx context.Context) {
	name := r.target.peer.Name
	if err := r.c.restart(r.target); err != nil {
		r.violate("%v", err)
		return
	}
	r.restarted = true
	started := time.Now()
	commit, err := r.leaderCommit(ctx)
	if err != nil {
		r.violate("after %s restarted: %v", name, err)
		return
	}
	for _, n := range r.c.nodes {
		if err := r.waitApplied(ctx, n, commit); err != nil {
			r.violate("%v", err)
			return
		}
		if n == r.target {
			r.catchUp = time.Since(started)
		}
	}
	r.checkListings(ctx)
}

// leaderCommit is the leader's commit index once the writers have stopped.
func (r *failRun) leaderCommit(ctx context.Context) (uint64, error) {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var commit uint64
	err := poll(wctx, 20*time.Millisecond, func() error {
		for _, n := range r.c.nodes {
			if v, err := n.view(wctx); err == nil && v.leads {
				commit = v.commit
				return nil
			}
		}
		return fmt.Errorf("no node reports that it leads")
	})
	return commit, err
}

func (r *failRun) waitApplied(ctx context.Context, n *fsNode, index uint64) error {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return poll(wctx, 20*time.Millisecond, func() error {
		v, err := n.view(wctx)
		if err != nil {
			return fmt.Errorf("%s: %w", n.peer.Name, err)
		}
		if v.applied < index {
			return fmt.Errorf("%s applied %d of the leader's commit %d", n.peer.Name, v.applied, index)
		}
		return nil
	})
}

func (r *failRun) checkListings(ctx context.Context) {
	acked, doubt := map[string]bool{}, map[string]bool{}
	for _, w := range []*writer{r.all, r.only} {
		for _, c := range w.history() {
			if c.err == nil {
				acked[c.name] = true
			} else {
				doubt[c.name] = true
			}
		}
	}
	var first listing
	for _, n := range r.c.nodes {
		l, err := r.c.listLocal(ctx, n, "/fs")
		if err != nil {
			r.violate("%v", err)
			return
		}
		if first == nil {
			first, r.listed = l, len(l)
		} else if !maps.Equal(first, l) {
			r.violate("%s lists /fs differently from %s (%d vs %d entries)", n.peer.Name, r.c.nodes[0].peer.Name, len(l), len(first))
		}
		r.checkListing(n, l, acked, doubt)
	}
}

func (r *failRun) checkListing(n *fsNode, l listing, acked, doubt map[string]bool) {
	lost, phantom := 0, 0
	for name := range acked {
		if _, ok := l[name]; !ok {
			lost++
		}
	}
	for name := range l {
		if !acked[name] && !doubt[name] {
			phantom++
		}
	}
	if lost > 0 || phantom > 0 {
		r.violate("%s: %d acknowledged directories lost, %d never attempted present", n.peer.Name, lost, phantom)
	}
}

func (r *report) figures() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (target a %s when armed): acknowledged %d before the fault, %d by the others after the stop; %d in doubt (and %d cut off by the end of the load)\n",
		r.variant, r.role, r.ackedBefore, r.ackedAfterStop, r.inDoubt, r.cutOff)
	fmt.Fprintf(&b, "  WAL syncs hit %d; after the first: last Status answered %s, Done %s, first write sent after it acknowledged %s; leader afterwards %q\n",
		r.walSyncHits, r.answeredAfter.Round(time.Millisecond), r.stopAfter.Round(time.Millisecond), r.writePause.Round(time.Millisecond), r.newLeader)
	fmt.Fprintf(&b, "  Err: %v\n", r.stopErr)
	fmt.Fprintf(&b, "  after a power loss: log [%d, %d], commit %d, applied %d; before, it reported applied %d, a leader saw it match %d\n",
		r.dur.first, r.dur.last, r.dur.commit, r.dur.applied, r.maxApplied, r.maxMatch)
	if r.restarted {
		fmt.Fprintf(&b, "  restarted without the fault: caught up in %s; /fs lists %d entries on every node", r.catchUp.Round(time.Millisecond), r.listed)
	} else {
		b.WriteString("  not restarted")
	}
	return b.String()
}
