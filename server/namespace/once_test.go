package namespace

import (
	"testing"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/protobuf/proto"
)

func mustApply(t *testing.T, tx Tx, cmd *pb.Command) *pb.Result {
	t.Helper()
	res, err := Apply(tx, cmd)
	if err != nil {
		t.Fatalf("%v: %v", cmd, err)
	}
	if err := Check(tx); err != nil {
		t.Fatalf("after %v: %v", cmd, err)
	}
	return res
}

func newTx(t *testing.T) *MemTx {
	tx := NewMemTx()
	if err := Init(tx, 1); err != nil {
		t.Fatal(err)
	}
	return tx
}

func mkdirCmd(path string, client, seq, acked uint64, now int64) *pb.Command {
	return &pb.Command{ClientId: client, Seq: seq, AckedSeq: acked, TimeNs: now,
		Op: &pb.Command_Mkdir{Mkdir: &pb.Mkdir{Loc: &pb.Loc{Path: path}, Mode: 0o755}}}
}

// A retried mkdir returns the first result (same ino, not EEXIST) and
// changes nothing.
func TestExactlyOnceRetry(t *testing.T) {
	tx := newTx(t)
	first := mustApply(t, tx, mkdirCmd("/a", 7, 1, 0, 100))
	if first.Errno != pb.Errno_OK || first.Attr.GetIno() == 0 {
		t.Fatalf("first mkdir: %v", first)
	}
	before, _ := Digest(tx)
	retry := mustApply(t, tx, mkdirCmd("/a", 7, 1, 0, 200))
	if !proto.Equal(first, retry) {
		t.Fatalf("retry returned %v, first was %v", retry, first)
	}
	if after, _ := Digest(tx); after != before {
		t.Fatal("a retry changed the state")
	}
	// Without tracking (seq 0) the same command is applied again: EEXIST.
	if res := mustApply(t, tx, mkdirCmd("/a", 7, 0, 0, 300)); res.Errno != pb.Errno_EEXIST {
		t.Fatalf("untracked repeat: %v", res)
	}
}

// Acknowledged results are deleted; a resend of an acknowledged seq is
// ESTALE and does not apply.
func TestExactlyOnceAck(t *testing.T) {
	tx := newTx(t)
	for seq := uint64(1); seq <= 5; seq++ {
		mustApply(t, tx, mkdirCmd("/d"+string(rune('0'+seq)), 3, seq, seq-1, int64(seq)))
	}
	rows := countPrefix(t, tx, key1(nil, pfxResult, 3))
	if rows != 1 {
		t.Fatalf("%d result rows kept for client 3, want 1 (seq 5)", rows)
	}
	res := mustApply(t, tx, mkdirCmd("/late", 3, 2, 0, 10))
	if res.Errno != pb.Errno_ESTALE {
		t.Fatalf("acked seq resent: %v", res)
	}
	if _, err := Resolve(tx, nil, "/late", true); ErrnoOf(err) != pb.Errno_ENOENT {
		t.Fatalf("ESTALE command was applied: %v", err)
	}
	// A jump of the watermark drops every older row at once: by blind
	// deletes of each seq, or, past ackGapBlind, by a scan of the rows.
	mustApply(t, tx, mkdirCmd("/x", 3, 100, 99, 11))
	if rows := countPrefix(t, tx, key1(nil, pfxResult, 3)); rows != 1 {
		t.Fatalf("%d rows after the jump, want 1", rows)
	}
	far := uint64(100 + 2*ackGapBlind)
	mustApply(t, tx, mkdirCmd("/y", 3, far, far-1, 12))
	if rows := countPrefix(t, tx, key1(nil, pfxResult, 3)); rows != 1 {
		t.Fatalf("%d rows after a jump past ackGapBlind, want 1", rows)
	}
}

func countPrefix(t *testing.T, r Reader, p []byte) int {
	n := 0
	if err := r.Scan(p, prefixEnd(p), func(_, _ []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

// An unlinked file with an open handle stays (GetAttr works, nlink 0)
// until the handle is released; then it and its chunks go.
func TestUnlinkWhileOpen(t *testing.T) {
	s := newShell(t)
	s.run(`
create /f mode=0644 open client=1 as=h
layout /f size=4 0:4:c h=h client=1 new=c:4
unlink /f
`)
	ino := uint64(2)
	a, err := GetAttr(s.tx, ino)
	if err != nil || a.Nlink != 0 || a.Size != 4 {
		t.Fatalf("orphan: %v %v", a, err)
	}
	if st, _ := StatFs(s.tx); st.Files != 1 || st.Bytes != 4 {
		t.Fatalf("orphan not counted: %+v", st)
	}
	if refs, _ := PendingChunkDeletes(s.tx, "", 0); len(refs) != 0 {
		t.Fatalf("orphan's chunk queued early: %v", refs)
	}
	if got := s.exec("open #2 client=1"); got != "ENOENT" {
		t.Fatalf("new open of an orphan: %s", got)
	}
	if got := s.exec("release h client=1"); got != "ok" {
		t.Fatal(got)
	}
	if _, err := GetAttr(s.tx, ino); ErrnoOf(err) != pb.Errno_ENOENT {
		t.Fatalf("released orphan still there: %v", err)
	}
	if refs, _ := PendingChunkDeletes(s.tx, "", 0); len(refs) != 1 || refs[0].Id != "c" {
		t.Fatalf("chunk not queued: %v", refs)
	}
	for _, after := range []string{"c", "d"} {
		if refs, _ := PendingChunkDeletes(s.tx, after, 0); len(refs) != 0 {
			t.Fatalf("queued after %q: %v, want none", after, refs)
		}
	}
	if refs, _ := PendingChunkDeletes(s.tx, "b", 1); len(refs) != 1 || refs[0].Id != "c" {
		t.Fatalf("queued after \"b\": %v, want c", refs)
	}
	if st, _ := StatFs(s.tx); st != (Stats{Inodes: 1, Dirs: 1}) {
		t.Fatalf("counters: %+v", st)
	}
}

// A session that misses its deadline (command time) loses its handles,
// which frees its orphans, and its stored results.
func TestSessionExpiry(t *testing.T) {
	s := newShell(t)
	s.run(`
keepalive timeout=5s client=4 seq=1
create /f open client=4 seq=2 as=h
unlink /f
tick 4s
noop client=4 seq=3 acked=1
tick 4s
noop
`)
	if _, err := GetAttr(s.tx, 2); err != nil {
		t.Fatalf("renewed session lost its orphan: %v", err)
	}
	s.run("tick 2s\nnoop")
	if _, err := GetAttr(s.tx, 2); ErrnoOf(err) != pb.Errno_ENOENT {
		t.Fatalf("expired session kept its orphan: %v", err)
	}
	for _, p := range []byte{pfxClient, pfxHandle, pfxResult, pfxExpiry} {
		if n := countPrefix(t, s.tx, []byte{p}); n != 0 {
			t.Fatalf("%d %q rows left after expiry", n, p)
		}
	}
	// The client's next command starts a fresh session.
	if got := s.exec("release h client=4"); got != "EBADF" {
		t.Fatalf("handle survived expiry: %s", got)
	}
}
