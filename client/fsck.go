package client

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// FsckReport is what `geomdsctl fsck` prints: every member's own check and
// whether replicas at the same applied index agree.
type FsckReport struct {
	Nodes []*FsckNode
	// Compared says at which applied index replicas were compared (the
	// highest index at least two replicas reported at once); 0 = none.
	Compared   uint64
	Mismatches []string // "n2 differs from n1 at index 42"
}

// FsckNode is one member's check.
type FsckNode struct {
	Name       string
	Address    string
	Applied    uint64
	Digest     []byte
	Violations []string
	Err        error // the member could not be checked
}

// Clean reports whether every member was checked, none has a violation and
// no two replicas at the same index differ.
func (r *FsckReport) Clean() bool {
	if len(r.Mismatches) > 0 {
		return false
	}
	for _, n := range r.Nodes {
		if n.Err != nil || len(n.Violations) > 0 {
			return false
		}
	}
	return true
}

// fsckRounds bounds how often fsck asks again to find replicas at the same
// applied index while writes go on.
const fsckRounds = 10

// Fsck checks every member of the cluster: the namespace invariants on each
// replica, and that replicas at the same applied index have the same digest.
// Under write load replicas may never stand still at one index together; it
// asks again a few times and compares those that do.
func (c *Client) Fsck(ctx context.Context) (*FsckReport, error) {
	members, err := c.MemberList(ctx)
	if err != nil {
		return nil, err
	}
	var rep *FsckReport
	for round := 0; round < fsckRounds; round++ {
		rep = &FsckReport{}
		for _, m := range members {
			rep.Nodes = append(rep.Nodes, checkMember(ctx, m))
		}
		if compare(rep) {
			return rep, nil
		}
		if !sleep(ctx, 200*time.Millisecond) {
			break
		}
	}
	return rep, nil
}

func checkMember(ctx context.Context, m *pb.Member) *FsckNode {
	n := &FsckNode{Name: m.GetName(), Address: m.GetAddress()}
	conn, err := dial(m.GetAddress())
	if err != nil {
		n.Err = err
		return n
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := pb.NewClusterClient(conn).Check(ctx, &pb.CheckRequest{Shard: 1}, grpc.WaitForReady(false))
	if err != nil {
		n.Err = fromStatus(err)
		return n
	}
	n.Applied, n.Digest, n.Violations = out.GetApplied(), out.GetNamespaceDigest(), out.GetViolations()
	return n
}

// compare fills in the mismatches among replicas at the highest index that
// two or more share; it reports whether every checked replica was at that
// index (nothing left to wait for).
func compare(rep *FsckReport) bool {
	byIndex := map[uint64][]*FsckNode{}
	checked := 0
	for _, n := range rep.Nodes {
		if n.Err == nil {
			byIndex[n.Applied] = append(byIndex[n.Applied], n)
			checked++
		}
	}
	for idx, ns := range byIndex {
		if len(ns) >= 2 && idx > rep.Compared {
			rep.Compared = idx
		}
	}
	rep.Mismatches = nil
	group := byIndex[rep.Compared]
	for _, n := range group[min(1, len(group)):] {
		if !bytes.Equal(n.Digest, group[0].Digest) {
			rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("%s differs from %s at index %d", n.Name, group[0].Name, rep.Compared))
		}
	}
	return len(group) == checked && checked > 0
}
