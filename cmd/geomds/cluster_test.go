package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// These tests run real `geomds serve` processes on loopback.

var buildOnce struct {
	sync.Once
	path string
	err  error
}

func geomdsBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "geomds-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "geomds")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

type proc struct {
	name, site, addr, dir string
	join                  bool // added with AddMember: start with --join
	cmd                   *exec.Cmd
	log                   *os.File
}

type procCluster struct {
	t       *testing.T
	bin     string
	initial string
	procs   []*proc
	extra   []string
}

func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var ls []net.Listener
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

func startProcCluster(t *testing.T, extra ...string) *procCluster {
	t.Helper()
	pc := &procCluster{t: t, bin: geomdsBinary(t), extra: extra}
	sites := []string{"east", "west", "north"}
	addrs := freeAddrs(t, 3)
	var parts []string
	for i, s := range sites {
		p := &proc{name: fmt.Sprintf("n%d", i+1), site: s, addr: addrs[i], dir: filepath.Join(t.TempDir(), s)}
		pc.procs = append(pc.procs, p)
		parts = append(parts, fmt.Sprintf("%s=%s@%s", p.name, p.site, p.addr))
	}
	pc.initial = strings.Join(parts, ",")
	for i := range pc.procs {
		pc.start(i)
	}
	t.Cleanup(func() {
		for _, p := range pc.procs {
			if p.cmd != nil && p.cmd.Process != nil {
				p.cmd.Process.Kill()
				p.cmd.Wait()
			}
			if p.log != nil {
				p.log.Close()
			}
		}
		if t.Failed() {
			for _, p := range pc.procs {
				b, _ := os.ReadFile(p.dir + ".log")
				t.Logf("--- %s log (tail) ---\n%s", p.name, tail(string(b), 3000))
			}
		}
	})
	return pc
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (pc *procCluster) start(i int) {
	pc.t.Helper()
	p := pc.procs[i]
	// A data dir relative to the working directory, as a user types it.
	args := append([]string{"serve", "--name", p.name, "--site", p.site, "--data-dir", filepath.Base(p.dir),
		"--listen", p.addr, "--initial-cluster", pc.initial, "--log-level", "info"}, pc.extra...)
	if p.join {
		args = append(args, "--join")
	}
	p.cmd = exec.Command(pc.bin, args...)
	p.cmd.Dir = filepath.Dir(p.dir)
	f, err := os.OpenFile(p.dir+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		pc.t.Fatal(err)
	}
	p.log = f
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		pc.t.Fatal(err)
	}
}

func (pc *procCluster) kill(i int) {
	p := pc.procs[i]
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	p.cmd = nil
}

func (pc *procCluster) endpoints() []string {
	var out []string
	for _, p := range pc.procs {
		out = append(out, p.addr)
	}
	return out
}

func (pc *procCluster) client(ctx context.Context) *client.Client {
	pc.t.Helper()
	c, err := client.New(ctx, client.Config{Endpoints: pc.endpoints(), Creds: &pb.Creds{}, RequestTimeout: 60 * time.Second})
	if err != nil {
		pc.t.Fatal(err)
	}
	pc.t.Cleanup(func() { c.Close() })
	return c
}

// leader waits until the cluster reports a leader and returns its index.
func (pc *procCluster) leader(ctx context.Context, c *client.Client) int {
	pc.t.Helper()
	for ctx.Err() == nil {
		st, err := c.Status(ctx, false)
		if err == nil && len(st.Shards) > 0 && st.Shards[0].Leader != "" {
			for i, p := range pc.procs {
				if p.name == st.Shards[0].Leader {
					return i
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	pc.t.Fatal("no leader")
	return -1
}

// writer makes directories one after another and records which were
// acknowledged. An EEXIST would mean a retried mkdir applied twice.
type writer struct {
	mu    sync.Mutex
	acked []string
	errs  []error
}

func (w *writer) run(ctx context.Context, c *client.Client, prefix string) {
	for i := 0; ctx.Err() == nil; i++ {
		p := fmt.Sprintf("%s/d%05d", prefix, i)
		_, err := c.Mkdir(ctx, p, 0o755)
		w.mu.Lock()
		if err == nil {
			w.acked = append(w.acked, p)
		} else if ctx.Err() == nil {
			w.errs = append(w.errs, fmt.Errorf("%s: %w", p, err))
		}
		w.mu.Unlock()
	}
}

func (w *writer) check(t *testing.T, ctx context.Context, c *client.Client) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, err := range w.errs {
		t.Errorf("mutation failed: %v", err)
	}
	for _, p := range w.acked {
		if _, err := c.Stat(ctx, p); err != nil {
			t.Errorf("acknowledged %s lost: %v", p, err)
		}
	}
	if len(w.acked) == 0 {
		t.Error("no mutation was acknowledged")
	}
}

func (w *writer) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

func waitCount(ctx context.Context, w *writer, n int) {
	for ctx.Err() == nil {
		w.mu.Lock()
		k := len(w.acked)
		w.mu.Unlock()
		if k >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKillLeader: kill -9 of the leader in the middle of a stream of
// mutations; a new leader is elected, every acknowledged mutation is
// present, none applied twice, and the killed node, restarted, catches up by
// snapshot (the log is compacted aggressively).
func TestKillLeader(t *testing.T) {
	pc := startProcCluster(t, "--snapshot-entries", "50", "--compact-keep", "10")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := pc.client(ctx)
	old := pc.leader(ctx, c)
	if err := c.MkdirAll(ctx, "/kill", 0o755); err != nil {
		t.Fatal(err)
	}
	w := &writer{}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.run(wctx, c, "/kill") }()
	waitCount(ctx, w, 30)
	pc.kill(old)
	before := w.count()
	waitCount(ctx, w, before+200) // > SnapshotEntries written without the old leader
	stop()
	<-done
	w.check(t, ctx, c)

	pc.start(old)
	pc.leader(ctx, c)
	st, _ := c.Status(ctx, false)
	var commit uint64
	for _, r := range st.Shards[0].Replicas {
		commit = max(commit, r.Applied)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := c.Status(ctx, false)
		if err == nil {
			for _, r := range st.Shards[0].Replicas {
				if r.Name == pc.procs[old].name && r.Applied >= commit {
					goto caughtUp
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted %s did not catch up to %d", pc.procs[old].name, commit)
		}
		time.Sleep(100 * time.Millisecond)
	}
caughtUp:
	b, _ := os.ReadFile(pc.procs[old].dir + ".log")
	if !strings.Contains(string(b), "state snapshot restored") {
		t.Errorf("restarted node caught up without a snapshot; log:\n%s", tail(string(b), 2000))
	}
}

// TestRollingRestart restarts every node in turn under write load; nothing
// acknowledged is lost.
func TestRollingRestart(t *testing.T) {
	pc := startProcCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := pc.client(ctx)
	pc.leader(ctx, c)
	if err := c.MkdirAll(ctx, "/roll", 0o755); err != nil {
		t.Fatal(err)
	}
	w := &writer{}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.run(wctx, c, "/roll") }()
	for i := range pc.procs {
		waitCount(ctx, w, w.count()+20)
		pc.kill(i)
		pc.start(i)
		pc.leader(ctx, c)
	}
	waitCount(ctx, w, w.count()+20)
	stop()
	<-done
	w.check(t, ctx, c)
}
