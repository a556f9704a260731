package server_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/geomds/geomds/chunkstore"
	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/chunk"
	"github.com/geomds/geomds/server/servertest"
)

// A member whose disk falls below the free-space reserve makes the cluster
// refuse what would fill the disks further, with ENOSPC naming it, while
// reads, removals and attribute changes go on; its site's store refuses
// uploads. Once space is freed past 1.5 times the reserve, everything
// works again. A cluster with a member of an older version cannot record
// the report and goes on as before.
func TestLowSpace(t *testing.T) {
	const reserve = 1 << 30
	var westFree atomic.Uint64
	westFree.Store(100 << 30)
	free := func(string) (uint64, error) { return westFree.Load(), nil }
	plenty := func(string) (uint64, error) { return 100 << 30, nil }
	c := servertest.Start(t, servertest.Options{MinFreeSpace: reserve,
		FreeSpace: map[string]func(string) (uint64, error){"n1": plenty, "n2": free, "n3": plenty}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	east, west := newClient(t, c, "east"), newClient(t, c, "west")
	if _, err := east.Create(ctx, "/kept", 0o644, true); err != nil {
		t.Fatal(err)
	}
	if err := east.WriteFile(ctx, "/data", []byte("before"), 0o644); err != nil {
		t.Fatal(err)
	}

	probes := 0
	create := func() error { // a new name each time
		probes++
		_, err := east.Create(ctx, fmt.Sprintf("/probe%d", probes), 0o644, true)
		return err
	}
	westFree.Store(reserve - 1)
	waitFor(t, ctx, "the low-space report", func() error {
		err := create()
		if client.ErrnoOf(err) != pb.Errno_ENOSPC {
			return errors.New("create still allowed")
		}
		if !strings.Contains(err.Error(), "n2 (site west") {
			t.Fatalf("ENOSPC does not name the member: %v", err)
		}
		return nil
	})
	_, mkdirErr := east.Mkdir(ctx, "/d", 0o755)
	for name, err := range map[string]error{
		"mkdir":   mkdirErr,
		"symlink": east.Symlink(ctx, "/kept", "/l"),
		"link":    east.Link(ctx, "/kept", "/k2"),
		"xattr":   east.SetXattr(ctx, "/kept", "user.a", []byte("v"), 0),
		"create":  west.WriteFile(ctx, "/big", make([]byte, 8<<20), 0o644),
		"upload":  writeExisting(ctx, west, "/kept", 8<<20),
	} {
		if client.ErrnoOf(err) != pb.Errno_ENOSPC {
			t.Errorf("%s while low on space: %v, want ENOSPC", name, err)
		}
	}
	// A client that learnt of it refuses the write itself, at write(2)
	// rather than at close, which many programs do not check.
	f, err := west.OpenFile(ctx, "/kept", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("x"), 0); client.ErrnoOf(err) != pb.Errno_ENOSPC {
		t.Errorf("write while low on space: %v, want ENOSPC at once", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("close after the refused write: %v", err)
	}
	// West's node refuses uploads to its store itself, for writers that
	// had not learnt of it.
	cc, err := grpc.NewClient(c.Nodes[1].Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if err := chunk.PutRemote(ctx, cc, chunkstore.NewID(), []byte("data")); status.Code(err) != codes.ResourceExhausted || // ENOSPC
		!strings.Contains(fmt.Sprint(err), "put: node n2 (site west) is below its free-space reserve") {
		t.Errorf("chunk upload at west while low on space: %v, want ENOSPC from the store", err)
	}
	if _, err := east.Stat(ctx, "/kept"); err != nil {
		t.Errorf("stat while low on space: %v", err)
	}
	if got, err := west.ReadFile(ctx, "/data"); err != nil || string(got) != "before" {
		t.Errorf("read while low on space: %q, %v", got, err)
	}
	if err := east.Chmod(ctx, "/kept", 0o600); err != nil {
		t.Errorf("chmod while low on space: %v", err)
	}
	if err := east.Remove(ctx, "/data"); err != nil {
		t.Errorf("unlink while low on space: %v", err)
	}

	westFree.Store(reserve + reserve/4) // above the reserve, below the 1.5× that clears it
	time.Sleep(3 * time.Second)         // more than one check
	if err := create(); client.ErrnoOf(err) != pb.Errno_ENOSPC {
		t.Fatalf("create just above the reserve: %v, want ENOSPC until 1.5× is free", err)
	}
	westFree.Store(2 * reserve)
	waitFor(t, ctx, "the report of space freed", create)
	if err := west.WriteFile(ctx, "/big", make([]byte, 8<<20), 0o644); err != nil {
		t.Fatalf("upload after space was freed: %v", err)
	}
}

// Below command version 5 the report is refused, and nothing is refused
// for lack of space.
func TestLowSpaceOlderMember(t *testing.T) {
	low := func(string) (uint64, error) { return 1, nil }
	c := servertest.Start(t, servertest.Options{MinFreeSpace: 1 << 30, CommandVersions: map[string]uint64{"n3": 4},
		FreeSpace: map[string]func(string) (uint64, error){"n1": low, "n2": low, "n3": low}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := newClient(t, c, "east")
	time.Sleep(3 * time.Second) // more than one check
	if _, err := cl.Create(ctx, "/f", 0o644, true); err != nil {
		t.Fatalf("create with a version-4 member: %v", err)
	}
	members, err := cl.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if m.GetLowSpace() {
			t.Fatalf("member %s recorded low on space at cluster version 4", m.GetName())
		}
	}
}

// writeExisting writes n bytes into the existing file path and syncs.
func writeExisting(ctx context.Context, cl *client.Client, path string, n int) error {
	f, err := cl.OpenFile(ctx, path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(make([]byte, n), 0)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
