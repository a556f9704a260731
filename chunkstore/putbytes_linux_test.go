//go:build linux

package chunkstore_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/geomds/geomds/chunkstore"
	"github.com/geomds/geomds/chunkstore/chunkstoretest"
)

// TestPutBytes: a whole aligned chunk goes to a file:// store with direct
// I/O where the file system has it, and reads back with its sum, returned
// and kept; a bad ID is refused; a short or unaligned chunk, and other backends,
// take Put's way (which copies a chunk of an aligned length into an
// aligned buffer for direct I/O). Every chunk reads back equal.
func TestPutBytes(t *testing.T) {
	ctx := chunkstoretest.Ctx(t)
	dir := t.TempDir()
	for _, name := range []string{"file", "mem"} {
		t.Run(name, func(t *testing.T) {
			url, wantDirect := "mem://", int64(0)
			if name == "file" {
				url = chunkstoretest.FileURL(dir)
				if hasDirectIO(t, dir) {
					wantDirect = 2 // the whole chunk, and the unaligned one of an aligned length (via a copy)
				}
			}
			s := chunkstoretest.Open(t, url)
			whole := make([]byte, 4<<20) // a large allocation: page aligned
			copy(whole, chunkstoretest.RandomBytes(70, len(whole)))
			for _, data := range [][]byte{whole, whole[:5000], whole[1 : 1+8192]} {
				id := chunkstore.NewID()
				if sum, err := s.PutBytes(ctx, id, data); err != nil || !bytes.Equal(sum, sumOf(data)) {
					t.Fatalf("PutBytes = %x, %v; want sum %x", sum, err, sumOf(data))
				}
				if got := chunkstoretest.Get(t, s, id, 0, 0); !bytes.Equal(got, data) {
					t.Fatalf("%d bytes read back differ", len(data))
				}
				if sum, err := s.RecordedSum(ctx, id); err != nil || (sum != nil && !bytes.Equal(sum, sumOf(data))) {
					t.Fatalf("recorded sum %x, %v", sum, err)
				}
			}
			if _, err := s.PutBytes(ctx, "bad/id", whole); !errors.Is(err, chunkstore.ErrInvalidID) {
				t.Fatalf("PutBytes with a bad ID: %v, want ErrInvalidID", err)
			}
			if got := chunkstore.DirectWrites(s); got != wantDirect {
				t.Fatalf("%d chunks written with direct I/O, want %d", got, wantDirect)
			}
		})
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// hasDirectIO reports whether dir's file system takes O_DIRECT writes.
func hasDirectIO(t *testing.T, dir string) bool {
	p := filepath.Join(dir, "probe")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|syscall.O_DIRECT, 0o644)
	if err != nil {
		t.Logf("no direct I/O in %s: %v", dir, err)
		return false
	}
	f.Close()
	return os.Remove(p) == nil
}

// TestPutWholeStreams: Put of a file:// chunk of an aligned length reads
// it whole before writing it with direct I/O, and still refuses short and
// long streams and failing readers, storing nothing.
func TestPutWholeStreams(t *testing.T) {
	ctx := chunkstoretest.Ctx(t)
	dir := t.TempDir()
	s := chunkstoretest.Open(t, chunkstoretest.FileURL(dir))
	data := chunkstoretest.RandomBytes(71, 8192)
	broken := errors.New("stream broke")
	for name, tc := range map[string]struct {
		size uint64
		sum  []byte
		r    io.Reader
		want error
	}{
		"short":   {8192, sumOf(data), bytes.NewReader(data[:4096]), chunkstore.ErrSize},
		"long":    {4096, sumOf(data[:4096]), bytes.NewReader(data), chunkstore.ErrSize},
		"failing": {8192, sumOf(data), &failingReader{r: bytes.NewReader(data), err: broken}, broken},
		"bad sum": {8192, sumOf(data[:10]), bytes.NewReader(data), chunkstore.ErrChecksum},
	} {
		id := chunkstore.NewID()
		if err := s.Put(ctx, id, tc.size, tc.sum, tc.r); !errors.Is(err, tc.want) {
			t.Errorf("%s: Put = %v, want %v", name, err, tc.want)
		}
		chunkstoretest.Absent(t, s, id)
	}
	id := chunkstore.NewID()
	if err := s.Put(ctx, id, 8192, sumOf(data), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if got := chunkstoretest.Get(t, s, id, 0, 0); !bytes.Equal(got, data) {
		t.Fatal("chunk read back differs")
	}
	want := int64(0)
	if hasDirectIO(t, dir) {
		want = 1
	}
	if got := chunkstore.DirectWrites(s); got != want {
		t.Fatalf("%d chunks written with direct I/O, want %d", got, want)
	}
}
