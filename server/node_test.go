package server_test

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/servertest"
)

func newClient(t *testing.T, c *servertest.Cluster, site string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := client.New(ctx, client.Config{Endpoints: c.Endpoints(), Site: site, Creds: &pb.Creds{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// TestClusterBasics writes through one site and reads at every consistency
// level from the others.
func TestClusterBasics(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	east := newClient(t, c, "east")
	if err := east.MkdirAll(ctx, "/a/b/c", 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := east.Mkdir(ctx, "/a", 0o755); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("mkdir of an existing dir: got %v, want EEXIST", err)
	}
	for _, site := range []string{"west", "north"} {
		cl := newClient(t, c, site)
		a, err := cl.Stat(ctx, "/a/b/c")
		if err != nil {
			t.Fatalf("%s: stat: %v", site, err)
		}
		if a.Mode&0o170000 != 0o040000 {
			t.Fatalf("%s: /a/b/c mode %o is not a directory", site, a.Mode)
		}
	}
	if _, err := east.Stat(ctx, "/nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat of a missing path: %v", err)
	}
}
