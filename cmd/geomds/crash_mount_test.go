package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/geomds/geomds/client"
	"github.com/geomds/geomds/client/fusefs"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// TestCrashThroughMount is the crash suite through the FUSE mount: a writer
// creates files in the mount and records each in the manifest only after
// fsync (and close) returned; every node is killed with SIGKILL at once and
// restarted; every recorded file is present with its size, mode and bytes.
func TestCrashThroughMount(t *testing.T) {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Fatalf("the mount suite needs /dev/fuse: %v", err)
	}
	pc := startProcCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin := pc.client(ctx)
	pc.leader(ctx, admin)
	if err := admin.MkdirAll(ctx, "/m", 0o755); err != nil {
		t.Fatal(err)
	}
	mnt := mountFor(t, ctx, pc)

	type entry struct {
		size int
		mode os.FileMode
	}
	var mu sync.Mutex
	acked := map[string]entry{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the writer
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := fmt.Sprintf("f%05d", i)
			size := 100 + i%4000
			if err := writeSynced(filepath.Join(mnt, "m", name), content(name, size), 0o640); err != nil {
				continue // no outcome recorded: it may or may not exist
			}
			mu.Lock()
			acked[name] = entry{size, 0o640}
			mu.Unlock()
		}
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	for count() < 40 && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	pc.killAll() // power loss at every site
	before := count()
	for i := range pc.procs {
		pc.start(i)
	}
	pc.leader(ctx, admin)
	for count() < before+20 && ctx.Err() == nil { // the mount goes on after the restart
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	<-done

	mu.Lock()
	defer mu.Unlock()
	if len(acked) < 60 {
		t.Fatalf("only %d files acknowledged: the test proves nothing", len(acked))
	}
	lost := 0
	for name, e := range acked {
		p := "/m/" + name
		a, err := admin.Stat(ctx, p)
		if err != nil {
			lost++
			t.Errorf("acknowledged %s lost: %v", p, err)
			continue
		}
		if int(a.Size) != e.size || os.FileMode(a.Mode&0o777) != e.mode {
			t.Errorf("%s: size %d mode %o, want %d %o", p, a.Size, a.Mode&0o777, e.size, e.mode)
		}
		got, err := admin.ReadFile(ctx, p)
		if err != nil || !bytes.Equal(got, content(name, e.size)) {
			t.Errorf("%s: contents differ (%v)", p, err)
		}
	}
	t.Logf("through the mount: %d acknowledged (%d before the crash), %d lost", len(acked), before, lost)
	// `geomdsctl fsck`'s check: invariants on every replica, equal digests.
	var rep *client.FsckReport
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var err error
		if rep, err = admin.Fsck(ctx); err == nil && rep.Clean() && rep.Compared > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fsck after the crash: %+v, %v", rep, err)
		}
	}
}

// mountFor mounts the cluster in a temp dir for the test's duration.
func mountFor(t *testing.T, ctx context.Context, pc *procCluster) string {
	t.Helper()
	// The mount is served by this test process, which also starts the
	// nodes while it holds the file in flight at the crash open with
	// unsynced writes. Each node's exec closes its inherited close-on-exec
	// copy of that descriptor: a FLUSH, which commits, so the exec waits
	// behind the pending fsync and then for its own commit until the
	// cluster answers (docs/POSIX.md, "Fork and exec commit too"). A short
	// request timeout lets both fail (no outcome recorded) and the restart
	// go on.
	c, err := client.New(ctx, client.Config{Endpoints: pc.endpoints(), Creds: &pb.Creds{}, RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srv, err := fusefs.Mount(context.Background(), dir, c, fusefs.Options{})
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if srv.Unmount() != nil {
			exec.Command("fusermount3", "-uz", dir).Run()
		}
		c.Close()
	})
	return dir
}

func writeSynced(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func content(name string, size int) []byte {
	b := bytes.Repeat([]byte(name), size/len(name)+1)
	return b[:size]
}
