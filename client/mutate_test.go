package client

import (
	"context"
	"sync"
	"testing"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func mkdirCmd(path string) *pb.Command {
	return &pb.Command{Op: &pb.Command_Mkdir{Mkdir: &pb.Mkdir{Loc: &pb.Loc{Path: path}, Mode: 0o755}}}
}

// A retried mutation is the identical command: same client ID, seq and
// acked_seq; fields are filled as documented.
func TestMutateRetryKeepsSeq(t *testing.T) {
	n := startNode(t, "a", "east")
	fails := 0
	n.set(func(n *fakeNode) {
		n.onMutate = func(*pb.Command) error {
			fails++
			switch fails {
			case 1:
				return infoStatus(codes.Unavailable, "NO_LEADER", "election", nil)
			case 2:
				return status.Error(codes.DeadlineExceeded, "proposal timed out")
			case 3:
				return infoStatus(codes.Unavailable, "NO_QUORUM", "", nil)
			}
			return nil
		}
	})
	c := newTestClient(t, Config{Creds: &pb.Creds{Uid: 7, Gid: 8}}, n)
	orig := mkdirCmd("/d")
	orig.TimeNs = 99
	if _, err := c.Mutate(context.Background(), orig); err != nil {
		t.Fatal(err)
	}
	muts := n.mutations()
	if len(muts) != 4 {
		t.Fatalf("attempts = %d, want 4", len(muts))
	}
	for _, m := range muts[1:] {
		if !proto.Equal(m, muts[0]) {
			t.Fatalf("retry differs:\n%v\n%v", m, muts[0])
		}
	}
	m := muts[0]
	if m.Shard != 1 || m.ClientId != c.ID() || m.ClientId == 0 || m.Seq != 1 || m.AckedSeq != 0 || m.TimeNs != 0 ||
		m.Creds.GetUid() != 7 || m.Creds.GetGid() != 8 {
		t.Fatalf("command fields not filled: %v", m)
	}
	if orig.Seq != 0 || orig.TimeNs != 99 {
		t.Fatalf("caller's command was modified: %v", orig)
	}
}

// acked_seq covers exactly the seqs that have returned, including ones that
// failed or were abandoned.
func TestMutateAckedSeqAdvances(t *testing.T) {
	n := startNode(t, "a", "east")
	c := newTestClient(t, Config{}, n)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := c.Mutate(ctx, mkdirCmd("/x")); err != nil {
			t.Fatal(err)
		}
	}
	n.set(func(n *fakeNode) {
		n.result = func(*pb.Command) *pb.Result { return &pb.Result{Errno: pb.Errno_EEXIST} }
	})
	if _, err := c.Mutate(ctx, mkdirCmd("/x")); ErrnoOf(err) != pb.Errno_EEXIST {
		t.Fatalf("err = %v, want EEXIST", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Mutate(canceled, mkdirCmd("/x")); err == nil {
		t.Fatal("canceled mutate succeeded")
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Go(func() { c.Mutate(ctx, mkdirCmd("/y")) }) //nolint:errcheck // EEXIST expected
	}
	wg.Wait()
	c.Mutate(ctx, mkdirCmd("/z")) //nolint:errcheck
	muts := n.mutations()
	for i, m := range muts[:4] {
		if m.Seq != uint64(i+1) || m.AckedSeq != uint64(i) {
			t.Fatalf("mutation %d: seq %d acked %d", i, m.Seq, m.AckedSeq)
		}
	}
	seen := map[uint64]bool{}
	for _, m := range muts {
		if m.AckedSeq >= m.Seq || seen[m.Seq] {
			t.Fatalf("bad seq %d acked %d", m.Seq, m.AckedSeq)
		}
		seen[m.Seq] = true
	}
	last := muts[len(muts)-1]
	// 3 ok + EEXIST + canceled (never sent) + 8 concurrent = 13 returned.
	if last.Seq != 14 || last.AckedSeq != 13 {
		t.Fatalf("last mutation seq %d acked %d, want 14 13", last.Seq, last.AckedSeq)
	}
}

func TestSeqTrackerOutOfOrder(t *testing.T) {
	var st seqTracker
	take := func() (seq, acked uint64) {
		t.Helper()
		seq, acked, err := st.take(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return seq, acked
	}
	s1, _ := take()
	s2, _ := take()
	s3, _ := take()
	st.done(s2)
	if _, acked := take(); acked != 0 {
		t.Fatalf("acked = %d with seq 1 outstanding", acked)
	}
	st.done(s1)
	if _, acked := take(); acked != 2 {
		t.Fatalf("acked = %d, want 2", acked)
	}
	st.done(s3)
	if _, acked := take(); acked != 3 {
		t.Fatalf("acked = %d, want 3", acked)
	}
}

// With the oldest call still out, take hands out seqs up to maxUnacked past
// acked_seq (the namespace's bound), then waits until that call returns,
// or fails with EAGAIN when the caller's ctx ends first.
func TestSeqTrackerWindow(t *testing.T) {
	var st seqTracker
	ctx := context.Background()
	oldest, _, _ := st.take(ctx)
	for range maxUnacked - 1 {
		seq, _, err := st.take(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st.done(seq)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, _, err := st.take(short); ErrnoOf(err) != pb.Errno_EAGAIN {
		t.Fatalf("take %d past acked_seq: %v, want EAGAIN once ctx ends", maxUnacked+1, err)
	}
	got := make(chan uint64)
	go func() {
		seq, acked, err := st.take(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- seq - acked
	}()
	select {
	case <-got:
		t.Fatal("take went past the window while the oldest call was out")
	case <-time.After(20 * time.Millisecond):
	}
	st.done(oldest)
	if d := <-got; d != 1 {
		t.Fatalf("after the oldest call returned: seq - acked = %d, want 1", d)
	}
}

// A non-retryable status is returned at once, mapped.
func TestMutateNoRetryOnRejection(t *testing.T) {
	n := startNode(t, "a", "east")
	n.set(func(n *fakeNode) {
		n.onMutate = func(*pb.Command) error { return errnoStatus(pb.Errno_ENOTDIR, "a is a file") }
	})
	c := newTestClient(t, Config{}, n)
	_, err := c.Mkdir(context.Background(), "/a/b", 0o755)
	if ErrnoOf(err) != pb.Errno_ENOTDIR || len(n.mutations()) != 1 {
		t.Fatalf("err = %v after %d attempts", err, len(n.mutations()))
	}
	if want := "mkdir /a/b: ENOTDIR: a is a file"; err.Error() != want {
		t.Fatalf("message %q, want %q", err.Error(), want)
	}
}
