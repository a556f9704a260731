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
// layouts, sweeps, bounded removals) are refused with ENOTSUP on every
// replica, and clients commit whole layouts and remove trees in one command
// instead; once the member runs the current version, they are accepted.
func TestOlderMemberGatesCommands(t *testing.T) {
	c := servertest.Start(t, servertest.Options{CommandVersions: map[string]uint64{"n3": 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := newClient(t, c, "east")
	waitFor(t, ctx, "n3's version 1 recorded, the others' current", func() error {
		return versionsRecorded(ctx, cl, map[string]uint64{"n1": namespace.CommandVersion, "n2": namespace.CommandVersion, "n3": 1})
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
	makeTree(t, ctx, cl, "/tree", 3)
	part := &pb.Command{Op: &pb.Command_RemoveAll{RemoveAll: &pb.RemoveAll{Path: "/tree", MaxEntries: 2}}}
	if _, err := cl.Mutate(ctx, part); !errors.Is(err, syscall.ENOTSUP) {
		t.Fatalf("bounded RemoveAll with a version-1 member: %v, want ENOTSUP", err)
	}
	if err := cl.RemoveAll(ctx, "/tree"); err != nil {
		t.Fatalf("RemoveAll with a version-1 member: %v", err)
	}
	if _, err := cl.Stat(ctx, "/tree"); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("/tree after RemoveAll: %v", err)
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
	makeTree(t, ctx, cl, "/tree", 3)
	if res, err := cl.Mutate(ctx, part); err != nil || !res.GetMore() {
		t.Fatalf("bounded RemoveAll of 3 files, 2 at a time, after the upgrade: %v, %v; want more", res, err)
	}
	if ents, err := cl.ReadDir(ctx, "/tree"); err != nil || len(ents) != 1 {
		t.Fatalf("/tree after removing 2 of 3: %v, %v", ents, err)
	}
	if res, err := cl.Mutate(ctx, part); err != nil || res.GetMore() {
		t.Fatalf("the second part: %v, %v; want done", res, err)
	}
	if _, err := cl.Stat(ctx, "/tree"); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("/tree after its last part: %v", err)
	}
}

// makeTree makes dir with files empty files in it.
func makeTree(t *testing.T, ctx context.Context, cl *client.Client, dir string, files int) {
	t.Helper()
	if err := cl.MkdirAll(ctx, dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range files {
		if _, err := cl.Create(ctx, fmt.Sprintf("%s/f%d", dir, i), 0o644, true); err != nil {
			t.Fatal(err)
		}
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
