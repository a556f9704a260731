package namespace

import (
	"errors"
	"fmt"
	"testing"

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
