package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/servertest"
)

// ctl runs one geomdsctl command line against the cluster.
func ctl(t *testing.T, c *servertest.Cluster, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	full := append([]string{"--endpoints", strings.Join(c.Endpoints(), ",")}, args...)
	code := run(ctx, full, &out, &errb)
	return out.String(), errb.String(), code
}

func mustCtl(t *testing.T, c *servertest.Cluster, args ...string) string {
	t.Helper()
	out, errOut, code := ctl(t, c, args...)
	if code != 0 {
		t.Fatalf("geomdsctl %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// TestWalkThrough runs the README's commands against a real cluster.
func TestWalkThrough(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	mustCtl(t, c, "mkdir", "-p", "/projects/climate/raw")
	mustCtl(t, c, "touch", "/projects/climate/raw/2026-11.nc")
	if got := mustCtl(t, c, "ls", "/projects/climate/raw"); got != "2026-11.nc\n" {
		t.Fatalf("ls: %q", got)
	}
	long := mustCtl(t, c, "ls", "-l", "/projects/climate")
	if !strings.HasPrefix(long, "d") || !strings.Contains(long, "raw") {
		t.Fatalf("ls -l: %q", long)
	}
	mustCtl(t, c, "mv", "/projects/climate/raw", "/projects/climate/input")
	mustCtl(t, c, "ln", "-s", "/projects/climate/input", "/latest")
	if got := mustCtl(t, c, "readlink", "/latest"); strings.TrimSpace(got) != "/projects/climate/input" {
		t.Fatalf("readlink: %q", got)
	}
	mustCtl(t, c, "stat", "/latest")
	mustCtl(t, c, "xattr", "set", "/projects/climate", "user.owner", "team-a")
	if got := mustCtl(t, c, "xattr", "get", "/projects/climate", "user.owner"); strings.TrimSpace(got) != "team-a" {
		t.Fatalf("xattr get: %q", got)
	}
	mustCtl(t, c, "chmod", "700", "/projects")
	mustCtl(t, c, "chown", "1000:1000", "/projects")

	// Errors: a clear message, a non-zero exit, nothing changed.
	_, errOut, code := ctl(t, c, "mkdir", "/projects")
	if code != 1 || !strings.Contains(errOut, "EEXIST") && !strings.Contains(strings.ToLower(errOut), "exist") {
		t.Fatalf("mkdir of an existing dir: exit %d, %q", code, errOut)
	}
	_, errOut, code = ctl(t, c, "mv", "/projects", "/projects/climate/x")
	if code != 1 || !strings.Contains(errOut, "EINVAL") && !strings.Contains(strings.ToLower(errOut), "invalid") {
		t.Fatalf("mv into own subtree: exit %d, %q", code, errOut)
	}
	_, _, code = ctl(t, c, "rm", "/projects")
	if code != 1 {
		t.Fatalf("rm of a non-empty dir without -r: exit %d", code)
	}
	mustCtl(t, c, "rm", "-r", "/projects")
	if _, _, code := ctl(t, c, "stat", "/projects"); code != 1 {
		t.Fatal("stat after rm -r succeeded")
	}

	var st struct {
		Nodes []struct {
			Name, Site, Address string
			Healthy             bool
		}
		Shards []struct {
			ID       uint64 `json:"id"`
			Leader   string
			Replicas []struct {
				Name, Role string
				Applied    uint64
			}
		}
	}
	if err := json.Unmarshal([]byte(mustCtl(t, c, "status", "-o", "json")), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Nodes) != 3 || len(st.Shards) != 1 || st.Shards[0].Leader == "" || len(st.Shards[0].Replicas) != 3 {
		t.Fatalf("status: %+v", st)
	}
}

// TestBenchJSON checks bench's JSON document against a real cluster.
func TestBenchJSON(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	var r struct {
		Op        string  `json:"op"`
		Clients   int     `json:"clients"`
		Ops       int     `json:"ops"`
		Errors    int     `json:"errors"`
		OpsPerSec float64 `json:"ops_per_sec"`
		P50       float64 `json:"p50_ms"`
		P99       float64 `json:"p99_ms"`
	}
	out := mustCtl(t, c, "bench", "--op", "create", "--clients", "4", "--ops", "200", "-o", "json")
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if r.Op != "create" || r.Clients != 4 || r.Ops != 200 || r.Errors != 0 || r.OpsPerSec <= 0 || r.P99 < r.P50 {
		t.Fatalf("bench: %+v", r)
	}
}

// TestPutGetCat copies a file in at one site and out at another.
func TestPutGetCat(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	dir := t.TempDir()
	src, data := localFile(t, dir, 9<<20+123, 7) // three chunks
	mustCtl(t, c, "--site", "west", "put", src, "/f")
	dst := filepath.Join(dir, "out")
	mustCtl(t, c, "--site", "east", "get", "/f", dst)
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get: %d bytes, %v; want %d equal bytes", len(got), err, len(data))
	}
	if out := mustCtl(t, c, "cat", "/f"); out != string(data) {
		t.Fatalf("cat: %d bytes differ", len(out))
	}
	if _, errOut, code := ctl(t, c, "cat", "/missing"); code != 1 || !strings.Contains(errOut, "ENOENT") {
		t.Fatalf("cat of a missing file: exit %d %q", code, errOut)
	}
}

// TestFsck: clean on a healthy cluster; a replica whose state was changed
// behind Raft's back is reported (exit 1).
func TestFsck(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	mustCtl(t, c, "mkdir", "-p", "/a/b")
	mustCtl(t, c, "touch", "/a/b/f")
	var out string
	for deadline := time.Now().Add(30 * time.Second); ; {
		o, _, code := ctl(t, c, "fsck")
		out = o
		if code == 0 && strings.Contains(out, "agree") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fsck of a healthy cluster: exit %d\n%s", code, out)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Diverge n3: apply a command to its storage directly, at the index it
	// already has, as a bug that skipped Raft would.
	c.StopNode(2)
	c.MutateStorage(t, 2, &pb.Command{ClientId: 7, Seq: 1, Creds: &pb.Creds{}, TimeNs: 1,
		Op: &pb.Command_Mkdir{Mkdir: &pb.Mkdir{Loc: &pb.Loc{Path: "/ghost"}, Mode: 0o755}}})
	c.RestartNode(2)
	for deadline := time.Now().Add(30 * time.Second); ; {
		o, _, code := ctl(t, c, "fsck")
		if code == 1 && strings.Contains(o, "mismatch: n3 differs") || code == 1 && strings.Contains(o, "differs from n3") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fsck did not report the diverged replica: exit %d\n%s", code, o)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestChunkStoreFlag: with --chunk-store, put writes the chunks into the
// site's store itself (they appear there) and get reads them back; the
// flag without --site is a usage error.
func TestChunkStoreFlag(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	dir := t.TempDir()
	src, data := localFile(t, dir, 5<<20+17, 13) // two chunks
	storeDir := filepath.Join(c.Dir(), "chunks-north")
	store := "file://" + storeDir
	before, _ := os.ReadDir(storeDir)
	_, errOut, code := ctl(t, c, "--site", "north", "--chunk-store", store, "--explain", "put", src, "/direct")
	if code != 0 {
		t.Fatalf("put: exit %d: %s", code, errOut)
	}
	if n := strings.Count(errOut, "ChunkPut"); n != 2 || strings.Count(errOut, "chunk store") < 2 {
		t.Fatalf("put's chunk writes (explain):\n%s\nwant two, to the chunk store", errOut)
	}
	after, _ := os.ReadDir(storeDir)
	if len(after) != len(before)+2 {
		t.Fatalf("north's store holds %d files after the put, %d before; want 2 more", len(after), len(before))
	}
	dst := filepath.Join(dir, "out")
	mustCtl(t, c, "--site", "north", "--chunk-store", store, "get", "/direct", dst)
	if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get: %d bytes, %v; want %d equal bytes", len(got), err, len(data))
	}
	if _, errOut, code := ctl(t, c, "--chunk-store", store, "ls", "/"); code != 2 || !strings.Contains(errOut, "--site") {
		t.Fatalf("--chunk-store without --site: exit %d %q, want a usage error", code, errOut)
	}
}

// localFile writes n bytes (byte i is i*mul) to dir/in and returns its path
// and the bytes.
func localFile(t *testing.T, dir string, n, mul int) (string, []byte) {
	t.Helper()
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i * mul)
	}
	src := filepath.Join(dir, "in")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return src, data
}
