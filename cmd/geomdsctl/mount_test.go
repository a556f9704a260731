package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/servertest"
	"github.com/spf13/cobra"
)

// TestMountCommand mounts with `mount DIR`, writes through the mount, reads
// the file back through the API, and unmounts by cancelling the command's
// ctx (as SIGINT does).
func TestMountCommand(t *testing.T) {
	cl := servertest.Start(t, servertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := client.New(ctx, client.Config{Endpoints: cl.Endpoints(), Creds: &pb.Creds{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := t.TempDir()
	t.Cleanup(func() { detach(dir) })

	cmd := mountCmd(func(*cobra.Command) (*client.Client, error) { return c, nil })
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--attr-cache", "0", dir})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(runCtx) }()

	waitMounted(t, dir, done)
	if err := os.WriteFile(filepath.Join(dir, "via-mount"), []byte("written through FUSE"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := c.ReadFile(ctx, "/via-mount"); err != nil || string(got) != "written through FUSE" {
		t.Fatalf("read through the API: %q, %v", got, err)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("mount command: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("mount command did not return after its ctx ended")
	}
	if mounted(dir) {
		t.Fatalf("%s is still mounted", dir)
	}
	if !strings.Contains(out.String(), "mounted at "+dir) {
		t.Errorf("output %q does not say where it mounted", out.String())
	}
}

// waitMounted polls (up to 20 s) until dir is a mount point.
func waitMounted(t *testing.T, dir string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !mounted(dir) {
		select {
		case err := <-done:
			t.Fatalf("mount command ended early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not mounted after 20 s", dir)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mounted reports whether dir is a mount point (its device differs from
// its parent's).
func mounted(dir string) bool {
	var a, b syscall.Stat_t
	if syscall.Stat(dir, &a) != nil || syscall.Stat(filepath.Dir(dir), &b) != nil {
		return false
	}
	return a.Dev != b.Dev
}

// detach lazily unmounts dir if a failed test left it mounted.
func detach(dir string) {
	if mounted(dir) {
		_ = exec.Command("fusermount3", "-u", "-z", dir).Run()
	}
}
