package client

import (
	"context"
	"testing"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// SESSION reads send the highest applied index seen in any earlier reply,
// mutations included: never lower, even when a lagging replica answers.
func TestSessionMinAppliedMonotonic(t *testing.T) {
	n := startNode(t, "a", "east")
	script := []uint64{5, 3, 9, 2, 0, 11, 4}
	i := 0
	n.set(func(n *fakeNode) {
		n.nextApply = func() uint64 { i++; return script[(i-1)%len(script)] }
	})
	c := newTestClient(t, Config{Consistency: pb.Consistency_SESSION}, n)
	ctx := context.Background()
	want := []uint64{0, 5, 5, 9, 9, 9, 11}
	for range script {
		if _, err := c.Stat(ctx, "/"); err != nil {
			t.Fatal(err)
		}
	}
	n.set(func(n *fakeNode) { n.applied = 40 })
	if _, err := c.Mkdir(ctx, "/d", 0o755); err != nil { // applied 41
		t.Fatal(err)
	}
	if _, err := c.ReadDir(ctx, "/"); err != nil {
		t.Fatal(err)
	}
	want = append(want, 41)
	reads := n.readOpts()
	if len(reads) != len(want) {
		t.Fatalf("%d reads, want %d", len(reads), len(want))
	}
	for i, ro := range reads {
		if ro.GetConsistency() != pb.Consistency_SESSION || ro.GetMinApplied() != want[i] {
			t.Errorf("read %d: %v min_applied %d, want %d", i, ro.GetConsistency(), ro.GetMinApplied(), want[i])
		}
	}
}

// STRONG sends no index; STALE sends its bound; both carry the creds, and
// WithCreds overrides them per call.
func TestReadOptionsByLevel(t *testing.T) {
	n := startNode(t, "a", "east")
	n.set(func(n *fakeNode) { n.applied = 7 })
	strong := newTestClient(t, Config{Creds: &pb.Creds{Uid: 5}}, n)
	stale := newTestClient(t, Config{Consistency: pb.Consistency_STALE, MaxStaleness: 2 * time.Second}, n)
	ctx := context.Background()
	for _, c := range []*Client{strong, stale, strong} {
		if _, err := c.Stat(ctx, "/"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := strong.Stat(WithCreds(ctx, &pb.Creds{Uid: 9}), "/"); err != nil {
		t.Fatal(err)
	}
	r := n.readOpts()
	if r[0].GetMinApplied() != 0 || r[2].GetMinApplied() != 0 || r[0].GetCreds().GetUid() != 5 {
		t.Errorf("strong read options %v", r[0])
	}
	if r[1].GetConsistency() != pb.Consistency_STALE || r[1].GetMaxStalenessNs() != int64(2*time.Second) {
		t.Errorf("stale read options %v", r[1])
	}
	if r[3].GetCreds().GetUid() != 9 {
		t.Errorf("WithCreds not used: %v", r[3])
	}
	if pc := processCreds(); r[1].GetCreds().GetUid() != pc.Uid || r[1].GetCreds().GetGid() != pc.Gid {
		t.Errorf("default creds %v, want the process's %v", r[1].GetCreds(), pc)
	}
}
