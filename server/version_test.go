package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
	"github.com/geomds/geomds/server/servertest"
)

// TestOlderMemberGatesCommands: while a member reports an older command
// version, commands that version would apply differently (merging
// layouts, sweeps) are refused with ENOTSUP on every replica, and clients
// commit whole layouts instead; once the member runs the current version,
// they are accepted.
func TestOlderMemberGatesCommands(t *testing.T) {
	c := servertest.Start(t, servertest.Options{CommandVersions: map[string]uint64{"n3": 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := newClient(t, c, "east")
	waitFor(t, ctx, "n3's version 1 recorded, the others' 2", func() error {
		return versionsRecorded(ctx, cl, map[string]uint64{"n1": 2, "n2": 2, "n3": 1})
	})
	for i, n := range c.Nodes {
		if v := n.ClusterCommandVersion(); v != 1 {
			t.Fatalf("node %d takes the cluster for version %d, want 1", i+1, v)
		}
	}
	data := bytes.Repeat([]byte("v"), 100)
	if err := cl.WriteFile(ctx, "/f", data, 0o644); err != nil {
		t.Fatalf("a write in the gated cluster: %v", err)
	}
	attr, err := cl.Stat(ctx, "/f")
	if err != nil {
		t.Fatal(err)
	}
	merge := &pb.Command{Op: &pb.Command_SetLayout{SetLayout: &pb.SetLayout{Ino: attr.GetIno(), Size: 1, Merge: true,
		Extents: []*pb.Extent{{Offset: 0, Length: 1, Inline: []byte("m")}}}}}
	if _, err := cl.Mutate(ctx, merge); !errors.Is(err, syscall.ENOTSUP) {
		t.Fatalf("merge with a version-1 member: %v, want ENOTSUP", err)
	}
	if got, err := cl.ReadFile(ctx, "/f"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("/f after the refused merge: %q, %v", got, err)
	}
	if res, err := c.Nodes[0].SweepChunks(ctx, 0); err != nil || res.Queued != 0 {
		t.Fatalf("sweep with a version-1 member: %+v, %v; want nothing, no error", res, err)
	}

	// n3 is upgraded.
	c.StopNode(2)
	c.SetCommandVersion("n3", namespace.CommandVersion)
	c.RestartNode(2)
	waitFor(t, ctx, "every member at the current version", func() error {
		for i, n := range c.Nodes {
			if v := n.ClusterCommandVersion(); v != namespace.CommandVersion {
				return fmt.Errorf("node %d takes the cluster for version %d", i+1, v)
			}
		}
		return nil
	})
	if _, err := cl.Mutate(ctx, merge); err != nil {
		t.Fatalf("merge after the upgrade: %v", err)
	}
	if got, err := cl.ReadFile(ctx, "/f"); err != nil || string(got) != "m"+string(data[1:]) {
		t.Fatalf("/f after the merge: %q, %v", got, err)
	}
}

// versionsRecorded checks the command versions the member registry holds.
func versionsRecorded(ctx context.Context, cl *client.Client, want map[string]uint64) error {
	members, err := cl.MemberList(ctx)
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.GetCommandVersion() != want[m.GetName()] {
			return fmt.Errorf("%s recorded at version %d, want %d", m.GetName(), m.GetCommandVersion(), want[m.GetName()])
		}
	}
	return nil
}
