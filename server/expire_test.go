package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/servertest"
)

// On a cluster no client writes to, a session that ends still releases
// its handles: one that expired (its client vanished) and one that closed
// holding more handles than one command releases. Each held files open
// that were then unlinked, which only the release frees. Reads are not
// commands, so the StatFs polls leave the cluster idle.
func TestIdleClusterEndsSessions(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	watcher := newClient(t, c, "east")
	inodes := func() uint64 {
		t.Helper()
		st, err := watcher.StatFs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.GetInodes()
	}
	base := inodes()
	waitInodes := func(what string, want uint64) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for got := inodes(); got != want; got = inodes() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d inodes after 15 s, want %d", what, got, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	vanished := newClient(t, c, "west")
	if err := vanished.KeepAlive(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	holdUnlinked(ctx, t, vanished, "/vanished", 1)
	if got := inodes(); got != base+1 {
		t.Fatalf("%d inodes with the unlinked file held open, want %d", got, base+1)
	}
	waitInodes("after the session's timeout", base)

	const many = 1100 // more than one command releases (1,024)
	closing := newClient(t, c, "north")
	holdUnlinked(ctx, t, closing, "/closing", many)
	if got := inodes(); got != base+many {
		t.Fatalf("%d inodes with %d unlinked files held open, want %d", got, many, base+many)
	}
	if err := closing.CloseSession(ctx); err != nil {
		t.Fatal(err)
	}
	waitInodes("after CloseSession", base)
}

// holdUnlinked creates n files under dir, each opened by its create, and
// unlinks them, leaving cl holding them open.
func holdUnlinked(ctx context.Context, t *testing.T, cl *client.Client, dir string, n int) {
	t.Helper()
	if err := cl.MkdirAll(ctx, dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				p := fmt.Sprintf("%s/f%d", dir, i)
				res, err := cl.Mutate(ctx, &pb.Command{Op: &pb.Command_Mknod{Mknod: &pb.Mknod{
					Loc: &pb.Loc{Path: p}, Mode: 0o100644, Open: true}}})
				if err == nil && res.GetHandle() == 0 {
					err = fmt.Errorf("create of %s opened no handle", p)
				}
				if err == nil {
					err = cl.Remove(ctx, p)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if err := cl.Remove(ctx, dir); err != nil {
		t.Fatal(err)
	}
}
