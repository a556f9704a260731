package namespace

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"pgregory.net/rapid"
)

func TestErrors(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &Error{Errno: pb.Errno_ENOENT, Op: "lookup", Detail: "no such file"})
	if got := ErrnoOf(err); got != pb.Errno_ENOENT {
		t.Fatalf("ErrnoOf = %v", got)
	}
	if !errors.Is(err, &Error{Errno: pb.Errno_ENOENT}) || errors.Is(err, &Error{Errno: pb.Errno_EEXIST}) {
		t.Fatal("Is does not match by errno")
	}
	if s := (&Error{Errno: pb.Errno_ENOENT, Op: "lookup", Detail: "x"}).Error(); s != "lookup: ENOENT: x" {
		t.Fatalf("Error() = %q", s)
	}
	if ErrnoOf(nil) != pb.Errno_OK || ErrnoOf(errors.New("disk")) != pb.Errno_EIO {
		t.Fatal("ErrnoOf of nil or foreign error")
	}
	_, err = Lookup(newTx(t), nil, 1, "nope")
	var e *Error
	if !errors.As(err, &e) || e.Op != "lookup" || e.Errno != pb.Errno_ENOENT {
		t.Fatalf("read error %#v", err)
	}
}

func TestInitIdempotent(t *testing.T) {
	tx := newTx(t)
	mustApply(t, tx, mkdirCmd("/a", 0, 0, 0, 5))
	before, _ := Digest(tx)
	if err := Init(tx, 99); err != nil {
		t.Fatal(err)
	}
	if after, _ := Digest(tx); after != before {
		t.Fatal("Init changed an initialised state")
	}
	root, _ := GetAttr(tx, 1)
	if root.Mode != sIFDIR|0o755 || root.Uid != 0 || root.Nlink != 3 {
		t.Fatalf("root %v", root)
	}
}

// An uninitialised state is corrupt for Apply: an error, not a rejection.
func TestApplyUninitialised(t *testing.T) {
	if _, err := Apply(NewMemTx(), mkdirCmd("/a", 0, 0, 0, 1)); err == nil || ErrnoOf(err) != pb.Errno_EIO {
		t.Fatalf("Apply on empty state: %v", err)
	}
}

func TestMemTx(t *testing.T) {
	m := NewMemTx()
	for i := 0; i < 1000; i++ {
		m.Put([]byte(fmt.Sprintf("k%04d", (i*7919)%1000)), []byte{byte(i)})
	}
	for i := 0; i < 1000; i += 2 {
		m.Delete([]byte(fmt.Sprintf("k%04d", i)))
	}
	if m.Len() != 500 {
		t.Fatalf("Len = %d", m.Len())
	}
	var keys []string
	m.Scan([]byte("k0100"), []byte("k0110"), func(k, _ []byte) bool { keys = append(keys, string(k)); return true })
	if fmt.Sprint(keys) != "[k0101 k0103 k0105 k0107 k0109]" {
		t.Fatalf("scan %v", keys)
	}
	if _, ok, _ := m.Get([]byte("k0100")); ok {
		t.Fatal("deleted key found")
	}
	c := m.Clone()
	c.Put([]byte("k0001"), []byte("new"))
	if v, _, _ := m.Get([]byte("k0001")); string(v) == "new" {
		t.Fatal("clone shares state")
	}
}

func TestHomeAndStatFs(t *testing.T) {
	s := newShell(t)
	if got := s.run("sethome west\nhome\nsethome\nhome"); got != "ok\n\"west\"\nok\n\"\"" {
		t.Fatal(got)
	}
}

// A RemoveAll without max_entries (an older client's) removes a tree of up
// to unboundedRemoveAllLimit entries in one command once the cluster
// applies version 3, refuses a bigger one with E2BIG and nothing removed,
// and below version 3 removes any tree whole, as those replicas do.
func TestRemoveAllUnboundedLimit(t *testing.T) {
	tree := func(files int) Tx {
		tx := newTx(t)
		mustApply(t, tx, mkdirCmd("/d", 0, 0, 0, 1))
		mustApply(t, tx, mkdirCmd("/d/s", 0, 0, 0, 1))
		for i := range files - 1 { // with /d/s: files entries under /d
			res, err := Apply(tx, &pb.Command{TimeNs: 1, Op: &pb.Command_Mknod{Mknod: &pb.Mknod{
				Loc: &pb.Loc{Path: fmt.Sprintf("/d/s/f%d", i)}, Mode: sIFREG | 0o644}}})
			if err != nil || res.GetErrno() != pb.Errno_OK {
				t.Fatalf("create %d: %v %v", i, res, err)
			}
		}
		return tx
	}
	rmAll := &pb.Command{TimeNs: 2, Op: &pb.Command_RemoveAll{RemoveAll: &pb.RemoveAll{Path: "/d"}}}
	for _, tc := range []struct {
		entries int
		cluster uint64
		want    pb.Errno
	}{
		{unboundedRemoveAllLimit, 3, pb.Errno_OK},
		{unboundedRemoveAllLimit + 1, 3, pb.Errno_E2BIG},
		{unboundedRemoveAllLimit + 1, 2, pb.Errno_OK},
	} {
		tx := tree(tc.entries)
		before, _ := Digest(tx)
		res, err := ApplyAt(tx, rmAll, tc.cluster)
		if err != nil || res.GetErrno() != tc.want {
			t.Fatalf("%d entries at version %d: %v %v, want %v", tc.entries, tc.cluster, res, err, tc.want)
		}
		_, statErr := Lookup(tx, nil, 1, "d")
		switch after, _ := Digest(tx); {
		case tc.want != pb.Errno_OK && after != before:
			t.Fatalf("%d entries at version %d: the refusal changed the state", tc.entries, tc.cluster)
		case tc.want == pb.Errno_OK && ErrnoOf(statErr) != pb.Errno_ENOENT:
			t.Fatalf("%d entries at version %d: /d is still there (%v)", tc.entries, tc.cluster, statErr)
		}
		if err := Check(tx); err != nil {
			t.Fatal(err)
		}
	}
}

// Repeating a RemoveAll with max_entries until it reports no more leaves
// the state a single unbounded RemoveAll leaves, for random trees and
// bounds, taking as many commands as the bound implies.
func TestRemoveAllInParts(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		tx := newTx(t)
		dirs := []string{"/r"}
		apply := func(cmd *pb.Command) *pb.Result {
			res, err := Apply(tx, cmd)
			if err != nil {
				rt.Fatalf("%v: %v", cmd, err)
			}
			return res
		}
		apply(mkdirCmd("/r", 0, 0, 0, 1))
		entries := 0
		for i := range rapid.IntRange(0, 60).Draw(rt, "entries") {
			parent := rapid.SampledFrom(dirs).Draw(rt, "parent")
			p := fmt.Sprintf("%s/e%d", parent, i)
			if rapid.Bool().Draw(rt, "dir") {
				apply(mkdirCmd(p, 0, 0, 0, 1))
				dirs = append(dirs, p)
			} else {
				apply(&pb.Command{TimeNs: 1, Op: &pb.Command_Mknod{Mknod: &pb.Mknod{Loc: &pb.Loc{Path: p}, Mode: sIFREG | 0o644}}})
			}
			entries++
		}
		max := rapid.IntRange(1, 8).Draw(rt, "max")
		whole := tx.Clone()
		if res, err := Apply(whole, &pb.Command{TimeNs: 2, Op: &pb.Command_RemoveAll{RemoveAll: &pb.RemoveAll{Path: "/r"}}}); err != nil || res.GetErrno() != pb.Errno_OK {
			rt.Fatalf("unbounded: %v %v", res, err)
		}
		commands := 0
		for more := true; more; commands++ {
			res := apply(&pb.Command{TimeNs: 2, Op: &pb.Command_RemoveAll{RemoveAll: &pb.RemoveAll{Path: "/r", MaxEntries: uint32(max)}}})
			if res.GetErrno() != pb.Errno_OK {
				rt.Fatalf("part %d: %v", commands, res)
			}
			if err := Check(tx); err != nil {
				rt.Fatalf("part %d: %v", commands, err)
			}
			more = res.GetMore()
		}
		// Each command but the last removes at least one entry, and at most
		// max (a directory waits for the next command when it does not fit).
		if least := (entries + max - 1) / max; commands < least || commands > entries+1 {
			rt.Fatalf("%d entries at most %d per command took %d commands", entries, max, commands)
		}
		a, _ := Digest(tx)
		b, _ := Digest(whole)
		if a != b {
			rt.Fatal("removing in parts left another state than removing whole")
		}
	})
}

// A session that ends with more handles than one command may release
// (command version 4) releases them over the commands that follow, each
// releasing at most maxSessionReleases; an old handle of the session is
// EBADF meanwhile, and the state at the end is the state version 3 reaches
// by releasing everything at once.
func TestSessionEndInParts(t *testing.T) {
	const client, handles = 5, 2*maxSessionReleases + 10
	build := func(cluster uint64) (*MemTx, []uint64) {
		tx := newTx(t)
		var hs []uint64
		for i := range 3 {
			path := fmt.Sprintf("/f%d", i)
			res, err := ApplyAt(tx, &pb.Command{ClientId: client, TimeNs: 1, Op: &pb.Command_Mknod{Mknod: &pb.Mknod{
				Loc: &pb.Loc{Path: path}, Mode: sIFREG | 0o644, Open: true}}}, cluster)
			if err != nil || res.GetErrno() != pb.Errno_OK {
				t.Fatalf("create %s: %v %v", path, res, err)
			}
			hs = append(hs, res.GetHandle())
			for len(hs) < (i+1)*handles/3 {
				res, err := ApplyAt(tx, &pb.Command{ClientId: client, TimeNs: 1, Op: &pb.Command_Open{Open: &pb.Open{
					Ino: res.GetAttr().GetIno(), Flags: oRdWr}}}, cluster)
				if err != nil || res.GetErrno() != pb.Errno_OK {
					t.Fatalf("open %s: %v %v", path, res, err)
				}
				hs = append(hs, res.GetHandle())
			}
			if i > 0 { // unlinked: the last release frees the inode
				mustApplyAt(t, tx, &pb.Command{TimeNs: 1, Op: &pb.Command_Unlink{Unlink: &pb.Unlink{Loc: &pb.Loc{Path: path}}}}, cluster)
			}
		}
		return tx, hs
	}
	noop := func(now int64) *pb.Command { return &pb.Command{TimeNs: now, Op: &pb.Command_Noop{Noop: &pb.Noop{}}} }
	left := func(tx *MemTx) int {
		n := 0
		p := key1(nil, pfxHandle, client)
		if err := tx.Scan(p, prefixEnd(p), func(_, _ []byte) bool { n++; return true }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, end := range []struct {
		name string
		cmd  *pb.Command
	}{
		{"close", &pb.Command{ClientId: client, TimeNs: 2, Op: &pb.Command_CloseSession{CloseSession: &pb.CloseSession{}}}},
		{"expiry", noop(2 + DefaultSessionTimeout)},
	} {
		t.Run(end.name, func(t *testing.T) {
			whole, _ := build(3)
			mustApplyAt(t, whole, end.cmd, 3)
			if n := left(whole); n != 0 {
				t.Fatalf("version 3: %d handles left after the session ended", n)
			}
			tx, hs := build(CommandVersion)
			if len(hs) != handles {
				t.Fatalf("%d handles opened, want %d", len(hs), handles)
			}
			mustApplyAt(t, tx, end.cmd, CommandVersion)
			if n := left(tx); n != handles-maxSessionReleases {
				t.Fatalf("after the session ended: %d handles left, want %d", n, handles-maxSessionReleases)
			}
			// The client comes back: a new session, but its old handles are gone.
			last := hs[len(hs)-1]
			res := mustApplyAt(t, tx, &pb.Command{ClientId: client, Seq: 1, TimeNs: 3, Op: &pb.Command_SetAttr{SetAttr: &pb.SetAttr{
				Path: "/f0", Valid: setSize, Size: 0, Handle: last}}}, CommandVersion)
			if res.GetErrno() != pb.Errno_EBADF {
				t.Fatalf("ftruncate with a handle of the ended session: %v, want EBADF", res)
			}
			if n := left(tx); n != handles-2*maxSessionReleases {
				t.Fatalf("after the next command: %d handles left, want %d", n, handles-2*maxSessionReleases)
			}
			mustApplyAt(t, tx, noop(4), CommandVersion)
			if n := left(tx); n != 0 {
				t.Fatalf("after three commands: %d handles left", n)
			}
			mustApplyAt(t, whole, &pb.Command{ClientId: client, Seq: 1, TimeNs: 3, Op: &pb.Command_SetAttr{SetAttr: &pb.SetAttr{
				Path: "/f0", Valid: setSize, Size: 0, Handle: last}}}, 3)
			mustApplyAt(t, whole, noop(4), 3)
			// The next expiry is a lower bound kept lazily; a command past
			// the old session's deadline settles it alike in both.
			mustApplyAt(t, whole, noop(2+DefaultSessionTimeout), 3)
			mustApplyAt(t, tx, noop(2+DefaultSessionTimeout), CommandVersion)
			got, _ := Digest(tx)
			if want, _ := Digest(whole); got != want {
				t.Fatalf("state after the reaping differs from the state after one release of everything")
			}
		})
	}
}

// A Release naming more handles than one command may release is refused
// from version 4, and changes nothing.
func TestReleaseHandleLimit(t *testing.T) {
	tx := newTx(t)
	res := mustApply(t, tx, &pb.Command{ClientId: 9, TimeNs: 1, Op: &pb.Command_Mknod{Mknod: &pb.Mknod{
		Loc: &pb.Loc{Path: "/f"}, Mode: sIFREG | 0o644, Open: true}}})
	more := make([]uint64, MaxReleaseHandles)
	for i := range more {
		more[i] = res.GetHandle()
	}
	rel := func(n int, cluster uint64) *pb.Result {
		return mustApplyAt(t, tx, &pb.Command{ClientId: 9, TimeNs: 1, Op: &pb.Command_Release{Release: &pb.Release{
			Handle: res.GetHandle(), More: more[:n]}}}, cluster)
	}
	before, _ := Digest(tx)
	if got := rel(MaxReleaseHandles, CommandVersion); got.GetErrno() != pb.Errno_E2BIG {
		t.Fatalf("release of %d handles: %v, want E2BIG", MaxReleaseHandles+1, got)
	}
	if after, _ := Digest(tx); after != before {
		t.Fatal("the refused release changed the state")
	}
	if got := rel(MaxReleaseHandles-1, CommandVersion); got.GetErrno() != pb.Errno_OK {
		t.Fatalf("release of %d handles: %v", MaxReleaseHandles, got)
	}
}

func mustApplyAt(t *testing.T, tx Tx, cmd *pb.Command, cluster uint64) *pb.Result {
	t.Helper()
	res, err := ApplyAt(tx, cmd, cluster)
	if err != nil {
		t.Fatalf("%v: %v", cmd, err)
	}
	if err := Check(tx); err != nil {
		t.Fatalf("after %v: %v", cmd, err)
	}
	return res
}

// Random sessions opening, releasing and abandoning handles on files that
// are unlinked meanwhile, against a tiny release budget: every state
// passes Check, and once the ended sessions are reaped and every session
// has expired, the state is the one version 3 reaches releasing each
// session's handles at once.
func TestSessionEndsReapedRandom(t *testing.T) {
	saved := sessionReleaseBudget
	t.Cleanup(func() { sessionReleaseBudget = saved })
	rapid.Check(t, func(rt *rapid.T) {
		sessionReleaseBudget = rapid.IntRange(1, 4).Draw(rt, "budget")
		bounded, whole := newTx(t), newTx(t)
		now := int64(1)
		apply := func(cmd *pb.Command) *pb.Result {
			cmd.TimeNs = now
			var res *pb.Result
			for _, s := range []struct {
				tx      Tx
				cluster uint64
			}{{bounded, CommandVersion}, {whole, 3}} {
				r, err := ApplyAt(s.tx, proto.Clone(cmd).(*pb.Command), s.cluster)
				if err != nil {
					rt.Fatalf("%v at version %d: %v", cmd, s.cluster, err)
				}
				if err := Check(s.tx); err != nil {
					rt.Fatalf("after %v at version %d: %v", cmd, s.cluster, err)
				}
				if s.cluster == CommandVersion {
					res = r
				}
			}
			return res
		}
		type file struct {
			path string
			ino  uint64
		}
		var linked []file
		handles := map[uint64][]uint64{} // by client, as the bounded state gave them
		for i := range rapid.IntRange(1, 80).Draw(rt, "steps") {
			c := uint64(rapid.IntRange(1, 3).Draw(rt, "client"))
			switch rapid.IntRange(0, 6).Draw(rt, "op") {
			case 0: // create, opened
				p := fmt.Sprintf("/f%d", i)
				res := apply(&pb.Command{ClientId: c, Op: &pb.Command_Mknod{Mknod: &pb.Mknod{Loc: &pb.Loc{Path: p}, Mode: sIFREG | 0o644, Open: true}}})
				linked = append(linked, file{p, res.GetAttr().GetIno()})
				handles[c] = append(handles[c], res.GetHandle())
			case 1: // open a linked file again
				if len(linked) > 0 {
					f := rapid.SampledFrom(linked).Draw(rt, "open")
					res := apply(&pb.Command{ClientId: c, Op: &pb.Command_Open{Open: &pb.Open{Ino: f.ino, Flags: oRdWr}}})
					handles[c] = append(handles[c], res.GetHandle())
				}
			case 2: // unlink
				if len(linked) > 0 {
					k := rapid.IntRange(0, len(linked)-1).Draw(rt, "unlink")
					apply(&pb.Command{Op: &pb.Command_Unlink{Unlink: &pb.Unlink{Loc: &pb.Loc{Path: linked[k].path}}}})
					linked = append(linked[:k], linked[k+1:]...)
				}
			case 3: // release some of the client's handles
				if hs := handles[c]; len(hs) > 0 {
					n := rapid.IntRange(1, len(hs)).Draw(rt, "release")
					apply(&pb.Command{ClientId: c, Op: &pb.Command_Release{Release: &pb.Release{Handle: hs[0], More: hs[1:n]}}})
					handles[c] = hs[n:]
				}
			case 4: // the client closes its session
				apply(&pb.Command{ClientId: c, Op: &pb.Command_CloseSession{CloseSession: &pb.CloseSession{}}})
				handles[c] = nil
			case 5: // time passes: sessions silent for longer than the timeout end
				now += rapid.SampledFrom([]int64{1e9, DefaultSessionTimeout / 2, DefaultSessionTimeout + 1}).Draw(rt, "tick")
				apply(&pb.Command{Op: &pb.Command_Noop{Noop: &pb.Noop{}}})
			case 6: // the client renews its session
				apply(&pb.Command{ClientId: c, Op: &pb.Command_KeepAlive{KeepAlive: &pb.KeepAlive{}}})
			}
		}
		// Every session expires; Noops reap what is left, as the leader's
		// would, and settle the lazy next-expiry bound in both.
		now += 2 * DefaultSessionTimeout
		for range 200 {
			apply(&pb.Command{Op: &pb.Command_Noop{Noop: &pb.Noop{}}})
			if due, err := ExpiryDue(bounded, now); err != nil || !due {
				break
			}
		}
		if due, _ := ExpiryDue(bounded, now); due {
			rt.Fatal("session work still due after 200 Noops")
		}
		now++
		apply(&pb.Command{Op: &pb.Command_Noop{Noop: &pb.Noop{}}})
		a, _ := Digest(bounded)
		b, _ := Digest(whole)
		if a != b {
			rt.Fatal("after every session ended, the bounded state differs from releasing each session at once")
		}
	})
}

// From version 6 a command more than MaxUnackedResults past the client's
// acknowledged watermark is refused with EAGAIN and changes nothing; with
// the acknowledgement it goes through. Before version 6 it is applied.
func TestUnackedResultsBound(t *testing.T) {
	tx := newTx(t)
	mk := func(seq, acked uint64) *pb.Command {
		return &pb.Command{ClientId: 3, Seq: seq, AckedSeq: acked, TimeNs: 1,
			Op: &pb.Command_Mknod{Mknod: &pb.Mknod{Loc: &pb.Loc{Path: fmt.Sprintf("/f%d", seq)}, Mode: sIFREG | 0o644}}}
	}
	mustApply(t, tx, mk(1, 0))
	if res := mustApply(t, tx, mk(MaxUnackedResults, 0)); res.GetErrno() != pb.Errno_OK {
		t.Fatalf("seq %d with nothing acknowledged: %v", MaxUnackedResults, res)
	}
	before, _ := Digest(tx)
	if res := mustApply(t, tx, mk(MaxUnackedResults+1, 0)); res.GetErrno() != pb.Errno_EAGAIN {
		t.Fatalf("seq %d with nothing acknowledged: %v, want EAGAIN", MaxUnackedResults+1, res)
	}
	if after, _ := Digest(tx); after != before {
		t.Fatal("the refused command changed the state")
	}
	if res := mustApply(t, tx, mk(MaxUnackedResults+1, 1)); res.GetErrno() != pb.Errno_OK {
		t.Fatalf("seq %d with seq 1 acknowledged: %v", MaxUnackedResults+1, res)
	}
	if res := mustApplyAt(t, tx, mk(3*MaxUnackedResults, 1), 5); res.GetErrno() != pb.Errno_OK {
		t.Fatalf("at version 5: %v", res)
	}
}
