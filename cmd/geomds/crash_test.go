package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// The crash suite, after JuiceFS's crash test: writers create files and
// directories and record each acknowledged one (acknowledged = committed by
// a quorum, fsynced) in a manifest; at a random moment every node, or only
// the leader, is killed with SIGKILL and restarted while the writers keep
// retrying. Afterwards every acknowledged entry is present with its mode on
// every node, nothing that was never attempted is, no retried create was
// applied twice, every node serves the same tree, and each store passes an
// offline namespace.Check.

var (
	crashRuns = flag.Int("crash.runs", 2, "TestCrash: runs, alternating kill -9 of every node and of the leader")
	crashSeed = flag.Int64("crash.seed", 0, "TestCrash: seed of the first run (0: from the clock); run i uses seed+i")
)

// crashVariant is what a run kills.
type crashVariant string

const (
	crashAll    crashVariant = "all"
	crashLeader crashVariant = "leader"
)

func TestCrash(t *testing.T) {
	seed := *crashSeed
	if seed == 0 {
		seed = time.Now().UnixNano()%1_000_000 + 1
	}
	for run := 0; run < *crashRuns; run++ {
		v := crashAll
		if run%2 == 1 {
			v = crashLeader
		}
		s := seed + int64(run)
		t.Run(fmt.Sprintf("%s/seed=%d", v, s), func(t *testing.T) { crashRun(t, v, s) })
	}
}

// manifest is what the writers know about each path they tried.
type manifest struct {
	mu      sync.Mutex
	acked   map[string]uint32 // acknowledged: path → mode (type and permission bits)
	unknown map[string]bool   // failed without a definite outcome: may or may not exist
	errs    []string          // definite failures: none is expected
	count   atomic.Int64      // len(acked), readable without the lock
}

func newManifest() *manifest {
	return &manifest{acked: map[string]uint32{}, unknown: map[string]bool{}}
}

func (m *manifest) record(path string, mode uint32, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch e := client.ErrnoOf(err); e {
	case pb.Errno_OK:
		m.acked[path] = mode
		m.count.Add(1)
	case pb.Errno_EAGAIN, pb.Errno_ETIMEDOUT, pb.Errno_EIO:
		m.unknown[path] = true
	default: // EEXIST here means a retried create was applied twice
		m.errs = append(m.errs, fmt.Sprintf("%s: %v", path, err))
	}
}

// crashWriter creates entries under its own directory until stop is closed,
// finishing the call in progress (the client retries it across the crash).
func crashWriter(ctx context.Context, c *client.Client, m *manifest, dir string, r *rand.Rand, stop <-chan struct{}) {
	_, err := c.Mkdir(ctx, dir, 0o755)
	m.record(dir, client.ModeDir|0o755, err)
	if err != nil {
		return
	}
	dirs := []string{dir}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		parent := dirs[r.IntN(len(dirs))]
		if r.IntN(4) == 0 && len(dirs) < 50 {
			p, mode := fmt.Sprintf("%s/d%d", parent, i), dirMode[r.IntN(len(dirMode))]
			_, err := c.Mkdir(ctx, p, mode)
			m.record(p, client.ModeDir|mode, err)
			if err == nil {
				dirs = append(dirs, p)
			}
			continue
		}
		p, mode := fmt.Sprintf("%s/f%d", parent, i), fileMode[r.IntN(len(fileMode))]
		_, err := c.Create(ctx, p, mode, true)
		m.record(p, client.ModeRegular|mode, err)
	}
}

func crashRun(t *testing.T, variant crashVariant, seed int64) {
	r := rand.New(rand.NewPCG(uint64(seed), 0))
	pc := startProcCluster(t, "--snapshot-entries", "200", "--compact-keep", "50")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	admin := pc.client(ctx)
	pc.leader(ctx, admin)
	const root = "/crash"
	if _, err := admin.Mkdir(ctx, root, 0o755); err != nil {
		t.Fatal(err)
	}
	m := newManifest()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		c := writerClient(t, ctx, pc)
		wr := rand.New(rand.NewPCG(uint64(seed), uint64(i+1)))
		wg.Add(1)
		go func() { defer wg.Done(); crashWriter(ctx, c, m, fmt.Sprintf("%s/w%d", root, i), wr, stop) }()
	}
	waitAcked(t, ctx, m, 20)
	sleepCtx(ctx, time.Duration(r.IntN(1500))*time.Millisecond) // the crash moment
	before := m.count.Load()
	what := crash(ctx, t, pc, admin, variant, r, m)
	waitAcked(t, ctx, m, m.count.Load()+50) // progress after the restart
	close(stop)
	wg.Wait()

	present := checkConverged(t, ctx, pc, root)
	lost, phantom := m.compare(t, present)
	m.mu.Lock()
	for _, e := range m.errs {
		t.Errorf("create failed: %s", e)
	}
	t.Logf("%s: acknowledged %d (%d before the crash), in doubt %d, lost %d, phantom %d, tree %d entries",
		what, len(m.acked), before, len(m.unknown), lost, phantom, len(present))
	m.mu.Unlock()
	t.Logf("fsck: %s; snapshots restored: %s", strings.Join(fsckOffline(t, ctx, pc), "; "), snapshotsRestored(pc))
}

// crash kills the nodes of the variant and restarts them; it returns what
// it did and how long no create was acknowledged.
func crash(ctx context.Context, t *testing.T, pc *procCluster, admin *client.Client, v crashVariant, r *rand.Rand, m *manifest) string {
	t.Helper()
	if v == crashAll {
		pc.killAll()
		killed, n := time.Now(), m.count.Load()
		down := time.Duration(r.IntN(500)) * time.Millisecond
		sleepCtx(ctx, down)
		for i := range pc.procs {
			pc.restart(i)
		}
		again := ""
		if r.IntN(2) == 0 { // half the time, crash again during recovery
			d := time.Duration(r.IntN(400)) * time.Millisecond
			sleepCtx(ctx, d)
			pc.killAll()
			for i := range pc.procs {
				pc.restart(i)
			}
			again = fmt.Sprintf(" and again %s after the restart", d)
		}
		waitAcked(t, ctx, m, n+1)
		return fmt.Sprintf("kill -9 of all nodes%s, down %s, first create acknowledged %s after the kill",
			again, down, time.Since(killed).Round(time.Millisecond))
	}
	leader := pc.leader(ctx, admin)
	pc.kill(leader)
	killed, n := time.Now(), m.count.Load()
	waitAcked(t, ctx, m, n+1)
	gap := time.Since(killed)
	waitAcked(t, ctx, m, m.count.Load()+50) // progress without it
	pc.restart(leader)
	return fmt.Sprintf("kill -9 of the leader %s, first create acknowledged %s after the kill", pc.procs[leader].name, gap.Round(time.Millisecond))
}

// writerClient is a client for the writers: a create in doubt is retried
// for up to a minute, and an unresponsive node is given up after 3 s.
func writerClient(t *testing.T, ctx context.Context, pc *procCluster) *client.Client {
	t.Helper()
	c, err := client.New(ctx, client.Config{Endpoints: pc.endpoints(), Creds: &pb.Creds{}, RequestTimeout: time.Minute, AttemptTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitAcked waits until the manifest holds n acknowledged entries.
func waitAcked(t *testing.T, ctx context.Context, m *manifest, n int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	for m.count.Load() < n {
		if !sleepCtx(ctx, 20*time.Millisecond) {
			t.Fatalf("writers stalled: %d of %d acknowledged", m.count.Load(), n)
		}
	}
}

// compare checks the tree (paths relative to the root) against the
// manifest: every acknowledged entry present with its mode, and nothing
// present that was not at least attempted.
func (m *manifest) compare(t *testing.T, present tree) (lost, phantom int) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	const root = "/crash"
	var missing []string
	for p, mode := range m.acked {
		a, ok := present[strings.TrimPrefix(p, root)]
		switch {
		case !ok:
			lost++
			missing = append(missing, p)
		case a.GetMode() != mode:
			t.Errorf("%s: mode %o, acknowledged %o", p, a.GetMode(), mode)
		}
	}
	sort.Strings(missing)
	for _, p := range missing {
		t.Errorf("acknowledged %s is lost", p)
	}
	for rel := range present {
		p := root + rel
		if _, ok := m.acked[p]; !ok && !m.unknown[p] {
			phantom++
			t.Errorf("%s exists but was never acknowledged nor in doubt", p)
		}
	}
	return lost, phantom
}
