package fusefs_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/geomds/geomds/client"
	"github.com/geomds/geomds/client/fusefs"
	"github.com/geomds/geomds/server/servertest"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// startCluster starts a 3-node cluster (sites east, west, north) for one
// test; it stops when the test ends.
func startCluster(t *testing.T) *servertest.Cluster {
	t.Helper()
	return servertest.Start(t, servertest.Options{})
}

// newClient connects to the cluster from site, as this process's user
// (the mount passes each caller's own).
func newClient(t *testing.T, cl *servertest.Cluster, site string) *client.Client {
	t.Helper()
	return newClientExplained(t, cl, site, nil)
}

// newClientExplained is newClient with each call's Trace sent to explain.
func newClientExplained(t *testing.T, cl interface{ Endpoints() []string }, site string, explain func(client.Trace)) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.New(ctx, client.Config{Endpoints: cl.Endpoints(), Site: site, RequestTimeout: 20 * time.Second, Explain: explain})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.CloseSession(ctx)
		c.Close()
	})
	return c
}

// mountLimit bounds a whole mount's life in a test, so a request that
// never returns fails the test instead of hanging the package; guard sets
// tighter bounds per test.
const mountLimit = 4 * time.Minute

// mount mounts c at a fresh directory and unmounts it when the test ends.
func mount(t *testing.T, c *client.Client, opts fusefs.Options) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := fusefs.Mount(ctx, dir, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	conn := connID(dir)
	conns.Store(dir, conn)
	stop := guard(t, dir, mountLimit)
	t.Cleanup(func() {
		stop()
		unmount(t, srv, dir, conn)
	})
	return dir
}

// guard aborts the FUSE connection of the mount at dir if t has not ended
// within limit: every pending and later request then fails with ENOTCONN,
// so the test fails instead of hanging. It returns a func that disarms it
// (also run when t ends).
func guard(t *testing.T, dir string, limit time.Duration) func() {
	conn, _ := conns.Load(dir)
	timer := time.AfterFunc(limit, func() {
		t.Errorf("%s still running after %v: aborting the FUSE connection of %s", t.Name(), limit, dir)
		abort(conn.(string))
	})
	stop := func() { timer.Stop() }
	t.Cleanup(stop)
	return stop
}

// conns maps each test mount's directory to its FUSE connection, found at
// mount time (a stat then could hang on a stuck mount).
var conns sync.Map

// connID names the FUSE connection of the mount at dir in
// /sys/fs/fuse/connections: the minor number of its device.
func connID(dir string) string {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return ""
	}
	minor := (st.Dev & 0xff) | ((st.Dev >> 12) & 0xfff00)
	return strconv.FormatUint(minor, 10)
}

// abort ends every pending request of a FUSE connection with ENOTCONN,
// through the fusectl file system (mounted here if the machine has not;
// only the test's own connection is touched).
func abort(conn string) {
	if conn == "" {
		return
	}
	const ctl = "/sys/fs/fuse/connections"
	file := filepath.Join(ctl, conn, "abort")
	if _, err := os.Stat(file); err != nil {
		_ = exec.Command("mount", "-t", "fusectl", "fusectl", ctl).Run()
	}
	if f, err := os.OpenFile(file, os.O_WRONLY, 0); err == nil {
		_, _ = f.Write([]byte("1"))
		f.Close()
	}
}

// unmount unmounts, retrying while the mount is busy, and falls back to a
// lazy fusermount3 -uz so nothing is left mounted.
func unmount(t *testing.T, srv *fuse.Server, dir, conn string) {
	var err error
	for i := 0; i < 20; i++ {
		if err = srv.Unmount(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("unmount %s: %v; detaching lazily", dir, err)
	abort(conn)
	if out, err := exec.Command("fusermount3", "-uz", dir).CombinedOutput(); err != nil {
		t.Errorf("fusermount3 -uz %s: %v: %s", dir, err, out)
	}
}
