package client

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/protobuf/proto"
)

// The path API builds the documented commands.
func TestPathAPICommands(t *testing.T) {
	n := startNode(t, "a", "east")
	c := newTestClient(t, Config{}, n)
	ctx := context.Background()
	mtime := time.Unix(100, 5)
	calls := []struct {
		do   func() error
		want *pb.Command
	}{
		{func() error { _, err := c.Create(ctx, "/f", 0o640, true); return err },
			&pb.Command{Op: &pb.Command_Mknod{Mknod: &pb.Mknod{Loc: &pb.Loc{Path: "/f"}, Mode: ModeRegular | 0o640, Exclusive: true}}}},
		{func() error { return c.MkdirAll(ctx, "/a/b", 0o700) },
			&pb.Command{Op: &pb.Command_MkdirAll{MkdirAll: &pb.MkdirAll{Path: "/a/b", Mode: 0o700}}}},
		{func() error { return c.Rename(ctx, "/x", "/y", RenameNoReplace) },
			&pb.Command{Op: &pb.Command_Rename{Rename: &pb.Rename{From: &pb.Loc{Path: "/x"}, To: &pb.Loc{Path: "/y"}, Flags: 1}}}},
		{func() error { return c.Symlink(ctx, "../t", "/l") },
			&pb.Command{Op: &pb.Command_Symlink{Symlink: &pb.Symlink{Loc: &pb.Loc{Path: "/l"}, Target: "../t"}}}},
		{func() error { return c.Link(ctx, "/f", "/g") },
			&pb.Command{Op: &pb.Command_Link{Link: &pb.Link{Path: "/f", NewLoc: &pb.Loc{Path: "/g"}}}}},
		{func() error { return c.Chown(ctx, "/f", -1, 10) },
			&pb.Command{Op: &pb.Command_SetAttr{SetAttr: &pb.SetAttr{Path: "/f", Valid: SetAttrGID, Gid: 10}}}},
		{func() error { return c.Chtimes(ctx, "/f", time.Time{}, mtime) },
			&pb.Command{Op: &pb.Command_SetAttr{SetAttr: &pb.SetAttr{Path: "/f", Valid: SetAttrMtime, MtimeNs: mtime.UnixNano()}}}},
		{func() error { return c.SetXattr(ctx, "/f", "user.k", []byte("v"), XattrCreate) },
			&pb.Command{Op: &pb.Command_SetXattr{SetXattr: &pb.SetXattr{Path: "/f", Name: "user.k", Value: []byte("v"), Flags: 1}}}},
		{func() error { return c.RenameAt(ctx, 1, "a", 2, "b", 0) },
			&pb.Command{Op: &pb.Command_Rename{Rename: &pb.Rename{From: &pb.Loc{Parent: 1, Name: "a"}, To: &pb.Loc{Parent: 2, Name: "b"}}}}},
	}
	for i, call := range calls {
		if err := call.do(); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		muts := n.mutations()
		got := proto.Clone(muts[len(muts)-1]).(*pb.Command)
		got.Shard, got.ClientId, got.Seq, got.AckedSeq, got.Creds = 0, 0, 0, 0, nil
		if !proto.Equal(got, call.want) {
			t.Errorf("call %d sent %v, want %v", i, got, call.want)
		}
	}
}

// Remove falls back to rmdir on EISDIR; RemoveAll ignores ENOENT; relative
// paths are rejected before any RPC.
func TestRemoveAndPathChecks(t *testing.T) {
	n := startNode(t, "a", "east")
	n.set(func(n *fakeNode) {
		n.result = func(cmd *pb.Command) *pb.Result {
			switch cmd.GetOp().(type) {
			case *pb.Command_Unlink:
				return &pb.Result{Errno: pb.Errno_EISDIR}
			case *pb.Command_RemoveAll:
				return &pb.Result{Errno: pb.Errno_ENOENT}
			}
			return &pb.Result{}
		}
	})
	c := newTestClient(t, Config{}, n)
	ctx := context.Background()
	if err := c.Remove(ctx, "/d"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveAll(ctx, "/gone"); err != nil {
		t.Fatal(err)
	}
	muts := n.mutations()
	if len(muts) != 3 || muts[1].GetRmdir().GetLoc().GetPath() != "/d" {
		t.Fatalf("mutations %v", muts)
	}
	if _, err := c.Stat(ctx, "rel"); ErrnoOf(err) != pb.Errno_EINVAL {
		t.Fatalf("relative path: %v", err)
	}
	if len(n.readOpts()) != 0 {
		t.Fatal("relative path reached the server")
	}
}

// ReadDir follows cursors until eof.
func TestReadDirPages(t *testing.T) {
	n := startNode(t, "a", "east")
	n.set(func(n *fakeNode) {
		n.onReadDir = func(req *pb.ReadDirRequest) *pb.ReadDirReply {
			start := 0
			fmt.Sscanf(req.GetCursor(), "e%d", &start) //nolint:errcheck // "" = 0
			if req.GetCursor() != "" {
				start++
			}
			reply := &pb.ReadDirReply{}
			for i := start; i < start+3 && i < 7; i++ {
				reply.Entries = append(reply.Entries, &pb.DirEntry{Name: fmt.Sprintf("e%d", i)})
			}
			reply.Eof = start+3 >= 7
			return reply
		}
	})
	c := newTestClient(t, Config{}, n)
	ents, err := c.ReadDir(context.Background(), "/")
	if err != nil || len(ents) != 7 || ents[6].GetName() != "e6" {
		t.Fatalf("ReadDir = %v, %v", ents, err)
	}
	if reads := n.readOpts(); len(reads) != 3 {
		t.Fatalf("%d pages, want 3", len(reads))
	}
}

// Explain reports every attempt with who served it.
func TestExplain(t *testing.T) {
	n := startNode(t, "a", "east")
	var mu sync.Mutex
	var traces []Trace
	c := newTestClient(t, Config{Explain: func(tr Trace) {
		mu.Lock()
		defer mu.Unlock()
		traces = append(traces, tr)
	}}, n)
	if _, err := c.Stat(context.Background(), "/"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(traces) != 1 || traces[0].Method != "GetAttr" || traces[0].Node != "a" || traces[0].Site != "east" ||
		traces[0].Endpoint != n.addr || traces[0].Err != nil {
		t.Fatalf("traces %+v", traces)
	}
}

// RemoveAll repeats a bounded command while the namespace reports more to
// remove, and falls back to one unbounded command when a member of the
// cluster does not know bounded removals (ENOTSUP).
func TestRemoveAllInParts(t *testing.T) {
	n := startNode(t, "a", "east")
	var parts atomic.Int32 // commands left until the tree is gone
	var older atomic.Bool  // a member does not know max_entries
	parts.Store(3)
	n.set(func(n *fakeNode) {
		n.result = func(cmd *pb.Command) *pb.Result {
			op := cmd.GetRemoveAll()
			if op.GetMaxEntries() != 0 && older.Load() {
				return &pb.Result{Errno: pb.Errno_ENOTSUP}
			}
			left := parts.Add(-1)
			return &pb.Result{More: op.GetMaxEntries() != 0 && left > 0}
		}
	})
	c := newTestClient(t, Config{}, n)
	ctx := context.Background()
	var reported []int
	if err := c.RemoveTreeProgress(ctx, "/big", func(n int) { reported = append(reported, n) }); err != nil {
		t.Fatal(err)
	}
	if len(reported) != 2 || reported[0] != removeAllPart || reported[1] != removeAllPart {
		t.Fatalf("progress %v, want two full parts before the last", reported)
	}
	muts := n.mutations()
	if len(muts) != 3 {
		t.Fatalf("%d commands, want 3: %v", len(muts), muts)
	}
	for _, m := range muts {
		if op := m.GetRemoveAll(); op.GetPath() != "/big" || op.GetMaxEntries() != removeAllPart {
			t.Fatalf("command %v", m)
		}
	}
	if muts[0].GetSeq() == muts[1].GetSeq() {
		t.Fatal("the parts share a sequence number: the namespace would answer the first part's result again")
	}
	parts.Store(3)
	older.Store(true)
	if err := c.RemoveAll(ctx, "/old"); err != nil {
		t.Fatal(err)
	}
	muts = n.mutations()[3:]
	if len(muts) != 2 || muts[0].GetRemoveAll().GetMaxEntries() == 0 || muts[1].GetRemoveAll().GetMaxEntries() != 0 {
		t.Fatalf("against an older member: %v", muts)
	}
}
