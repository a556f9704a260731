package fusefs_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/geomds/geomds/client/fusefs"
)

// TestData runs the file-content tests on one cluster: a mount at east,
// and for CrossSite a second mount at west.
func TestData(t *testing.T) {
	cl := startCluster(t)
	east := mount(t, newClient(t, cl, "east"), fusefs.Options{})
	west := mount(t, newClient(t, cl, "west"), fusefs.Options{})
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, east, west string)
	}{
		{"UnlinkWhileOpen", testUnlinkWhileOpen},
		{"CrossSite", testCrossSite},
		{"Large", testLarge},
		{"SharedHandles", func(t *testing.T, east, _ string) { testSharedHandles(t, east) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			guard(t, east, time.Minute)
			guard(t, west, time.Minute)
			tc.fn(t, east, west)
		})
	}
}

// testUnlinkWhileOpen: a file unlinked at one mount stays readable through
// a descriptor opened before, and is gone for everyone else.
func testUnlinkWhileOpen(t *testing.T, m, other string) {
	p := filepath.Join(m, "doomed")
	data := randomData(5<<20+3, 1) // in chunks, not inline
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(other, "doomed")); !os.IsNotExist(err) {
		t.Fatalf("stat at the other mount after unlink: %v", err)
	}
	got, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read after unlink: %d bytes, %v", len(got), err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil || st.Nlink != 0 || st.Size != int64(len(data)) {
		t.Fatalf("fstat after unlink: nlink %d size %d, %v", st.Nlink, st.Size, err)
	}
}

// testCrossSite: a file written and closed at east is read at west (its
// chunks fetched from east's store), and a rewrite at east is seen by the
// next open at west (close-to-open), whatever west had cached.
func testCrossSite(t *testing.T, east, west string) {
	for round := range 2 {
		data := randomData(6<<20+round, uint64(10+round))
		if err := os.WriteFile(filepath.Join(east, "shared"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(west, "shared"))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round %d: west read %d bytes (%v), want %d", round, len(got), err, len(data))
		}
	}
}

// testLarge writes 32 MiB through the mount in odd-sized writes and reads it
// back at both mounts; the SHA-256 must match.
func testLarge(t *testing.T, east, west string) {
	const size = 32 << 20
	data := randomData(size, 7)
	want := sha256.Sum256(data)
	f, err := os.Create(filepath.Join(east, "large"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for off := 0; off < size; {
		n := min(size-off, 300_001)
		if _, err := f.Write(data[off : off+n]); err != nil {
			t.Fatal(err)
		}
		off += n
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote 32 MiB in %v", time.Since(start))
	for _, m := range []string{east, west} {
		start := time.Now()
		f, err := os.Open(filepath.Join(m, "large"))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil || n != size || !bytes.Equal(h.Sum(nil), want[:]) {
			t.Fatalf("read at %s: %d bytes, %v, sum mismatch=%v", m, n, err, !bytes.Equal(h.Sum(nil), want[:]))
		}
		t.Logf("read 32 MiB in %v", time.Since(start))
	}
}

// testSharedHandles: two descriptors of one file in one mount see each
// other's writes before either closes, and stat reports the written size.
func testSharedHandles(t *testing.T, m string) {
	p := filepath.Join(m, "shared-handles")
	w, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data := randomData(100_000, 3)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Size() != int64(len(data)) {
		t.Fatalf("stat before close: %v, %v", fi, err)
	}
	got := make([]byte, len(data))
	if _, err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read through the other descriptor: %v", err)
	}
}

func randomData(n int, seed uint64) []byte {
	var key [32]byte
	key[0] = byte(seed)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}
