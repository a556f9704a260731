package namespace

import (
	"errors"
	"fmt"
	"testing"

	pb "github.com/geomds/geomds/proto/geomdspb"
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
