package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
	"github.com/geomds/geomds/server/storage"
)

// Checks shared by the crash and robustness suites: after the faults, every
// node catches up and serves the same tree, the tree's own invariants hold
// on every node, and, offline, every node's store passes namespace.Check
// with the same digest at the same applied index.

// restart starts node i again (after kill), closing its previous log file.
func (pc *procCluster) restart(i int) {
	pc.t.Helper()
	if p := pc.procs[i]; p.log != nil {
		p.log.Close()
		p.log = nil
	}
	pc.start(i)
}

// killAll sends SIGKILL to every running node before waiting for any, so
// they die together.
func (pc *procCluster) killAll() {
	for _, p := range pc.procs {
		if p.cmd != nil {
			p.cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	for _, p := range pc.procs {
		if p.cmd != nil {
			p.cmd.Wait()
			p.cmd = nil
		}
	}
}

// stopAll stops every running node with SIGTERM (a clean shutdown flushes
// the applied state). It returns the nodes that were still running 20 s
// later; those are killed.
func (pc *procCluster) stopAll() []string {
	var mu sync.Mutex
	var hung []string
	var wg sync.WaitGroup
	for _, p := range pc.procs {
		if p.cmd == nil {
			continue
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		wg.Add(1)
		go func(p *proc, cmd *exec.Cmd) {
			defer wg.Done()
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				<-done
				mu.Lock()
				hung = append(hung, p.name)
				mu.Unlock()
			}
		}(p, p.cmd)
	}
	wg.Wait()
	for _, p := range pc.procs {
		p.cmd = nil
	}
	return hung
}

// nodeClient talks to node i only and reads what it has applied locally.
func (pc *procCluster) nodeClient(ctx context.Context, i int) *client.Client {
	pc.t.Helper()
	c, err := client.New(ctx, client.Config{Endpoints: []string{pc.procs[i].addr}, Creds: &pb.Creds{},
		Consistency: pb.Consistency_STALE, MaxStaleness: time.Hour, RequestTimeout: 20 * time.Second})
	if err != nil {
		pc.t.Fatal(err)
	}
	pc.t.Cleanup(func() { c.Close() })
	return c
}

// localState returns node c's applied index, leader and commit index.
func localState(ctx context.Context, c *client.Client, name string) (applied uint64, leader string, commit uint64, err error) {
	st, err := c.Status(ctx, true)
	if err != nil {
		return 0, "", 0, err
	}
	if len(st.GetShards()) == 0 {
		return 0, "", 0, fmt.Errorf("no shard in status")
	}
	sh := st.GetShards()[0]
	for _, r := range sh.GetReplicas() {
		if r.GetName() == name {
			applied = r.GetApplied()
		}
	}
	return applied, sh.GetLeader(), sh.GetCommit(), nil
}

// waitCaughtUp waits until every node has applied what the leader had
// committed when the wait began (the workload has stopped by then).
func waitCaughtUp(t *testing.T, ctx context.Context, pc *procCluster, nodes []*client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var target uint64
	for target == 0 {
		for i, c := range nodes {
			if _, leader, commit, err := localState(ctx, c, pc.procs[i].name); err == nil && leader == pc.procs[i].name {
				target = commit
			}
		}
		if target == 0 && !sleepCtx(ctx, 100*time.Millisecond) {
			t.Fatalf("no leader reported its commit index: %v", ctx.Err())
		}
	}
	for i, c := range nodes {
		for {
			applied, _, _, err := localState(ctx, c, pc.procs[i].name)
			if err == nil && applied >= target {
				break
			}
			if !sleepCtx(ctx, 100*time.Millisecond) {
				t.Fatalf("%s did not apply up to %d (applied %d, err %v)", pc.procs[i].name, target, applied, err)
			}
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// tree is one node's listing of a subtree: each entry by path relative to
// its root, with its attributes.
type tree map[string]*pb.Attr

// listTree reads the subtree under root from c, directory by directory.
func listTree(ctx context.Context, c *client.Client, root string) (tree, error) {
	out := tree{}
	var walk func(rel string) error
	walk = func(rel string) error {
		ents, err := c.ReadDir(ctx, root+rel)
		if err != nil {
			return err
		}
		for _, e := range ents {
			p := rel + "/" + e.GetName()
			out[p] = e.GetAttr()
			if e.GetMode()&client.ModeType == client.ModeDir {
				if err := walk(p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return out, walk("")
}

// String renders the tree one entry a line, in path order, every attribute
// included: replicas apply the same commands, so they must agree on all.
func (tr tree) String() string {
	paths := make([]string, 0, len(tr))
	for p := range tr {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b strings.Builder
	for _, p := range paths {
		a := tr[p]
		fmt.Fprintf(&b, "%s ino=%d mode=%o nlink=%d uid=%d gid=%d size=%d rdev=%d atime=%d mtime=%d ctime=%d gen=%d\n",
			p, a.GetIno(), a.GetMode(), a.GetNlink(), a.GetUid(), a.GetGid(), a.GetSize(), a.GetRdev(),
			a.GetAtimeNs(), a.GetMtimeNs(), a.GetCtimeNs(), a.GetGeneration())
	}
	return b.String()
}

// invariants checks what a listing alone can prove: a directory's nlink is
// 2 plus its subdirectories and its size its entry count, and a file's
// nlink is the number of its names (the workloads never link out of root).
func (tr tree) invariants() []string {
	subdirs, entries, names := map[string]uint32{}, map[string]uint64{}, map[uint64]uint32{}
	for p, a := range tr {
		parent := p[:strings.LastIndexByte(p, '/')]
		entries[parent]++
		if a.GetMode()&client.ModeType == client.ModeDir {
			subdirs[parent]++
		} else {
			names[a.GetIno()]++
		}
	}
	var bad []string
	for p, a := range tr {
		switch {
		case a.GetMode()&client.ModeType == client.ModeDir:
			if a.GetNlink() != 2+subdirs[p] || a.GetSize() != entries[p] {
				bad = append(bad, fmt.Sprintf("%s: nlink %d size %d, has %d subdirectories and %d entries", p, a.GetNlink(), a.GetSize(), subdirs[p], entries[p]))
			}
		case a.GetNlink() != names[a.GetIno()]:
			bad = append(bad, fmt.Sprintf("%s: nlink %d, has %d names", p, a.GetNlink(), names[a.GetIno()]))
		}
	}
	sort.Strings(bad)
	return bad
}

// checkConverged waits until every node has caught up, then reads the
// subtree under root from each node's local state: the listings must be
// identical and sound. It returns the tree as node 0 serves it.
func checkConverged(t *testing.T, ctx context.Context, pc *procCluster, root string) tree {
	t.Helper()
	var nodes []*client.Client
	for i := range pc.procs {
		nodes = append(nodes, pc.nodeClient(ctx, i))
	}
	waitCaughtUp(t, ctx, pc, nodes)
	var first tree
	var firstFs *pb.StatFsReply
	for i, c := range nodes {
		name := pc.procs[i].name
		tr, err := listTree(ctx, c, root)
		if err != nil {
			t.Fatalf("%s: list %s: %v", name, root, err)
		}
		if served := c.LastMeta().GetNode(); served != name {
			t.Fatalf("listing meant for %s was served by %q", name, served)
		}
		for _, b := range tr.invariants() {
			t.Errorf("%s: %s", name, b)
		}
		fs, err := c.StatFs(ctx)
		if err != nil {
			t.Fatalf("%s: statfs: %v", name, err)
		}
		if i == 0 {
			first, firstFs = tr, fs
			continue
		}
		if got, want := tr.String(), first.String(); got != want {
			t.Errorf("%s serves a different tree than %s:\n%s\n--- %s:\n%s", name, pc.procs[0].name, tail(got, 4000), pc.procs[0].name, tail(want, 4000))
		}
		if fs.GetInodes() != firstFs.GetInodes() || fs.GetFiles() != firstFs.GetFiles() || fs.GetDirs() != firstFs.GetDirs() {
			t.Errorf("%s statfs %d/%d/%d inodes/files/dirs, %s %d/%d/%d", name, fs.GetInodes(), fs.GetFiles(), fs.GetDirs(),
				pc.procs[0].name, firstFs.GetInodes(), firstFs.GetFiles(), firstFs.GetDirs())
		}
	}
	return first
}

// fsckOffline stops every node and checks each store directly: the
// namespace invariants (namespace.Check) hold, and nodes at the same applied
// index hold byte-identical state (namespace.Digest). It returns one line
// per node for the log.
func fsckOffline(t *testing.T, ctx context.Context, pc *procCluster) []string {
	t.Helper()
	if st := waitQuiet(ctx, pc); st != "" {
		t.Logf("nodes still differ before the offline fsck: %s", st)
	}
	if hung := pc.stopAll(); len(hung) > 0 {
		t.Errorf("%v did not stop within 20s of SIGTERM", hung)
	}
	var res []fsckResult
	var lines []string
	for _, p := range pc.procs {
		r, err := fsckStore(filepath.Join(p.dir, "db"))
		if err != nil {
			t.Errorf("fsck %s: %v", p.name, err)
			continue
		}
		res = append(res, r)
		lines = append(lines, fmt.Sprintf("%s applied %d digest %x", p.name, r.applied, r.digest[:6]))
	}
	for i := 1; i < len(res); i++ {
		if res[i].applied == res[0].applied && !bytes.Equal(res[i].digest[:], res[0].digest[:]) {
			t.Errorf("fsck: same applied index, different state: %s", strings.Join(lines, "; "))
		}
	}
	return lines
}

type fsckResult struct {
	applied uint64
	digest  [32]byte
}

func fsckStore(dir string) (fsckResult, error) {
	eng, err := storage.Open(dir, storage.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return fsckResult{}, err
	}
	defer eng.Close()
	v, err := eng.View(1)
	if err != nil {
		return fsckResult{}, err
	}
	defer v.Close()
	if err := namespace.Check(v); err != nil {
		return fsckResult{}, err
	}
	d, err := namespace.Digest(v)
	return fsckResult{applied: v.Applied(), digest: d}, err
}

// waitQuiet waits (up to 10 s) until every node reports the same applied
// index twice in a row, so the offline digests are comparable. It returns
// the last states seen when they never settled, else "".
func waitQuiet(ctx context.Context, pc *procCluster) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var nodes []*client.Client
	for i := range pc.procs {
		nodes = append(nodes, pc.nodeClient(ctx, i))
	}
	var last string
	stable := 0
	for stable < 2 {
		var states []string
		same := true
		var first uint64
		for i, c := range nodes {
			applied, leader, commit, err := localState(ctx, c, pc.procs[i].name)
			states = append(states, fmt.Sprintf("%s applied %d commit %d leader %q err %v", pc.procs[i].name, applied, commit, leader, err))
			if i == 0 {
				first = applied
			}
			same = same && err == nil && applied == first
		}
		cur := strings.Join(states, "; ")
		if same && cur == last {
			stable++
		} else {
			stable = 0
		}
		last = cur
		if !sleepCtx(ctx, 100*time.Millisecond) {
			return last
		}
	}
	return ""
}

// snapshotsRestored counts, per node, the snapshots its log says it
// restored (a node that fell too far behind catches up by one).
func snapshotsRestored(pc *procCluster) string {
	var parts []string
	for _, p := range pc.procs {
		b, _ := os.ReadFile(p.dir + ".log")
		parts = append(parts, fmt.Sprintf("%s %d", p.name, strings.Count(string(b), "state snapshot restored")))
	}
	return strings.Join(parts, ", ")
}
