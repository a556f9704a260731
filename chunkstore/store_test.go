package chunkstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/geomds/geomds/chunkstore"
	"github.com/geomds/geomds/chunkstore/chunkstoretest"
	"github.com/geomds/geomds/proto/chunksum"
)

func sumOf(b []byte) []byte { return chunksum.Of(b) }

// newFakeS3 serves an in-process S3 on loopback with one bucket and returns
// the store URL for it.
func newFakeS3(t *testing.T, bucket string) string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	q := url.Values{
		"endpoint":       {srv.URL},
		"region":         {"us-east-1"},
		"use_path_style": {"true"},
		"anonymous":      {"true"}, // gofakes3 checks no signatures; keeps the test off any credential chain
	}
	return "s3://" + bucket + "?" + q.Encode()
}

// backends are the store URLs every suite runs against.
func backends(t *testing.T) map[string]func(t *testing.T) *chunkstore.Store {
	return map[string]func(t *testing.T) *chunkstore.Store{
		"file": func(t *testing.T) *chunkstore.Store {
			return chunkstoretest.Open(t, chunkstoretest.FileURL(filepath.Join(t.TempDir(), "chunks")))
		},
		"mem": func(t *testing.T) *chunkstore.Store { return chunkstoretest.Open(t, "mem://") },
		"s3":  func(t *testing.T) *chunkstore.Store { return chunkstoretest.Open(t, newFakeS3(t, "chunks")) },
	}
}

func TestStore(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			for _, tc := range storeCases {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
			}
		})
	}
}

var storeCases = []struct {
	name string
	fn   func(t *testing.T, s *chunkstore.Store)
}{
	{"PutGetDelete", testPutGetDelete},
	{"Ranges", testRanges},
	{"Empty", testEmpty},
	{"Large", testLarge},
	{"ChecksumMismatch", testChecksumMismatch},
	{"ShortAndLongStream", testShortAndLongStream},
	{"ReaderFailsOrCancelled", testReaderFails},
	{"Rewrite", testRewrite},
	{"InvalidRequests", testInvalid},
	{"List", testList},
}

func testPutGetDelete(t *testing.T, s *chunkstore.Store) {
	ctx := chunkstoretest.Ctx(t)
	data := chunkstoretest.RandomBytes(1, 100_000)
	id := chunkstore.NewID()
	chunkstoretest.Absent(t, s, id)
	chunkstoretest.Put(t, s, id, data)
	if got := chunkstoretest.Get(t, s, id, 0, 0); !bytes.Equal(got, data) {
		t.Fatalf("Get returned %d bytes, want the %d put", len(got), len(data))
	}
	info, err := s.Stat(ctx, id)
	if err != nil || info.Size != uint64(len(data)) {
		t.Fatalf("Stat = %+v, %v; want size %d", info, err, len(data))
	}
	if chunkstore.KeepsSumInMetadata(s) && info.Sum == nil {
		t.Fatalf("Stat has no recorded sum on a backend with metadata")
	}
	if info.Sum != nil && !bytes.Equal(info.Sum, sumOf(data)) {
		t.Fatalf("Stat sum %x, want %x", info.Sum, sumOf(data))
	}
	if err := s.Delete(ctx, id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	chunkstoretest.Absent(t, s, id)
	if err := s.Delete(ctx, id); err != nil {
		t.Fatalf("Delete of a missing chunk: %v", err)
	}
}

func testRanges(t *testing.T, s *chunkstore.Store) {
	data := chunkstoretest.RandomBytes(2, 10_000)
	id := chunkstore.NewID()
	chunkstoretest.Put(t, s, id, data)
	for _, r := range []struct{ off, length, from, to uint64 }{
		{0, 0, 0, 10_000},
		{0, 1, 0, 1},
		{1234, 100, 1234, 1334},
		{9_000, 0, 9_000, 10_000},
		{9_000, 5_000, 9_000, 10_000}, // clamped at the end
		{0, 20_000, 0, 10_000},
		{9_999, 1, 9_999, 10_000},
		{10_000, 0, 10_000, 10_000}, // at the end: empty
		{10_000, 7, 10_000, 10_000},
	} {
		got := chunkstoretest.Get(t, s, id, r.off, r.length)
		if !bytes.Equal(got, data[r.from:r.to]) {
			t.Errorf("Get(%d, %d) returned %d bytes, want data[%d:%d]", r.off, r.length, len(got), r.from, r.to)
		}
	}
	if _, _, err := s.Get(chunkstoretest.Ctx(t), id, 10_001, 0); !errors.Is(err, chunkstore.ErrRange) {
		t.Errorf("Get past the end = %v, want chunkstore.ErrRange", err)
	}
}

func testEmpty(t *testing.T, s *chunkstore.Store) {
	id := chunkstore.NewID()
	chunkstoretest.Put(t, s, id, nil)
	if got := chunkstoretest.Get(t, s, id, 0, 0); len(got) != 0 {
		t.Fatalf("empty chunk read %d bytes", len(got))
	}
	if got := chunkstoretest.Get(t, s, id, 0, 10); len(got) != 0 {
		t.Fatalf("empty chunk range read %d bytes", len(got))
	}
	if info, err := s.Stat(chunkstoretest.Ctx(t), id); err != nil || info.Size != 0 {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
}

// testLarge crosses S3's multipart threshold (8 MiB parts) and several
// gRPC-sized pieces.
func testLarge(t *testing.T, s *chunkstore.Store) {
	data := chunkstoretest.RandomBytes(3, 9<<20+17)
	id := chunkstore.NewID()
	chunkstoretest.Put(t, s, id, data)
	if got := chunkstoretest.Get(t, s, id, 0, 0); !bytes.Equal(got, data) {
		t.Fatalf("large chunk: got %d bytes back, want %d equal bytes", len(got), len(data))
	}
	if got := chunkstoretest.Get(t, s, id, 8<<20-5, 10); !bytes.Equal(got, data[8<<20-5:8<<20+5]) {
		t.Fatalf("large chunk range differs")
	}
	corruptPutRefused(t, s, data, len(data)-1)
}

// corruptPutRefused puts data with byte i flipped under data's sum and
// checks that the store refuses it and keeps nothing.
func corruptPutRefused(t *testing.T, s *chunkstore.Store, data []byte, i int) {
	t.Helper()
	bad := append([]byte(nil), data...)
	bad[i] ^= 0x80
	id := chunkstore.NewID()
	err := s.Put(chunkstoretest.Ctx(t), id, uint64(len(bad)), sumOf(data), bytes.NewReader(bad))
	if !errors.Is(err, chunkstore.ErrChecksum) {
		t.Fatalf("Put with byte %d damaged = %v, want ErrChecksum", i, err)
	}
	chunkstoretest.Absent(t, s, id)
}

func testChecksumMismatch(t *testing.T, s *chunkstore.Store) {
	corruptPutRefused(t, s, chunkstoretest.RandomBytes(4, 5000), 2500)
}

func testShortAndLongStream(t *testing.T, s *chunkstore.Store) {
	data := chunkstoretest.RandomBytes(5, 5000)
	short := chunkstore.NewID()
	err := s.Put(chunkstoretest.Ctx(t), short, uint64(len(data))+1, sumOf(data), bytes.NewReader(data))
	if !errors.Is(err, chunkstore.ErrSize) {
		t.Fatalf("short Put = %v, want chunkstore.ErrSize", err)
	}
	chunkstoretest.Absent(t, s, short)
	long := chunkstore.NewID()
	err = s.Put(chunkstoretest.Ctx(t), long, uint64(len(data))-1, sumOf(data[:len(data)-1]), bytes.NewReader(data))
	if !errors.Is(err, chunkstore.ErrSize) {
		t.Fatalf("long Put = %v, want chunkstore.ErrSize", err)
	}
	chunkstoretest.Absent(t, s, long)
}

// failingReader yields n bytes then an error.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, f.err
	}
	return n, err
}

func testReaderFails(t *testing.T, s *chunkstore.Store) {
	data := chunkstoretest.RandomBytes(6, 5000)
	boom := errors.New("boom")
	id := chunkstore.NewID()
	r := &failingReader{r: bytes.NewReader(data[:3000]), err: boom}
	if err := s.Put(chunkstoretest.Ctx(t), id, uint64(len(data)), sumOf(data), r); !errors.Is(err, boom) {
		t.Fatalf("Put from a failing reader = %v, want boom", err)
	}
	chunkstoretest.Absent(t, s, id)

	ctx, cancel := context.WithCancel(chunkstoretest.Ctx(t))
	cancel()
	id2 := chunkstore.NewID()
	if err := s.Put(ctx, id2, uint64(len(data)), sumOf(data), bytes.NewReader(data)); err == nil {
		t.Fatalf("Put with a cancelled ctx succeeded")
	}
	chunkstoretest.Absent(t, s, id2)
}

func testRewrite(t *testing.T, s *chunkstore.Store) {
	data := chunkstoretest.RandomBytes(7, 3000)
	id := chunkstore.NewID()
	chunkstoretest.Put(t, s, id, data)
	chunkstoretest.Put(t, s, id, data) // a retried upload of the same bytes
	bad := append([]byte(nil), data...)
	bad[0] ^= 1
	if err := s.Put(chunkstoretest.Ctx(t), id, uint64(len(bad)), sumOf(data), bytes.NewReader(bad)); !errors.Is(err, chunkstore.ErrChecksum) {
		t.Fatalf("corrupt rewrite = %v", err)
	}
	if got := chunkstoretest.Get(t, s, id, 0, 0); !bytes.Equal(got, data) {
		t.Fatalf("a rejected rewrite changed the stored chunk")
	}
}

func testInvalid(t *testing.T, s *chunkstore.Store) {
	ctx := chunkstoretest.Ctx(t)
	for _, id := range []string{"", "../x", "a/b", "x.attrs", "a b", string(make([]byte, 129))} {
		if err := s.Put(ctx, id, 0, sumOf(nil), bytes.NewReader(nil)); !errors.Is(err, chunkstore.ErrInvalidID) {
			t.Errorf("Put(%q) = %v, want chunkstore.ErrInvalidID", id, err)
		}
		if _, _, err := s.Get(ctx, id, 0, 0); !errors.Is(err, chunkstore.ErrInvalidID) {
			t.Errorf("Get(%q) = %v, want chunkstore.ErrInvalidID", id, err)
		}
		if err := s.Delete(ctx, id); !errors.Is(err, chunkstore.ErrInvalidID) {
			t.Errorf("Delete(%q) = %v, want chunkstore.ErrInvalidID", id, err)
		}
	}
	if err := s.Put(ctx, chunkstore.NewID(), chunkstore.MaxChunkSize+1, sumOf(nil), bytes.NewReader(nil)); !errors.Is(err, chunkstore.ErrTooLarge) {
		t.Errorf("oversized Put = %v, want chunkstore.ErrTooLarge", err)
	}
	if err := s.Put(ctx, chunkstore.NewID(), 0, []byte{1, 2, 3}, bytes.NewReader(nil)); !errors.Is(err, chunkstore.ErrChecksum) {
		t.Errorf("Put with a 3-byte sum = %v, want chunkstore.ErrChecksum", err)
	}
}

// TestFileLayout checks what file:// leaves on disk: one plain file per
// chunk, no sidecars or temporary files after failures, and chunks survive
// reopening.
func TestFileLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "chunks")
	s, err := chunkstore.Open(chunkstoretest.Ctx(t), chunkstoretest.FileURL(dir), "east")
	if err != nil {
		t.Fatal(err)
	}
	data := chunkstoretest.RandomBytes(8, 4096)
	id := chunkstore.NewID()
	chunkstoretest.Put(t, s, id, data)
	bad := chunkstore.NewID()
	_ = s.Put(chunkstoretest.Ctx(t), bad, 4096, sumOf(nil), bytes.NewReader(data))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0].Name() != id {
		var got []string
		for _, n := range names {
			got = append(got, n.Name())
		}
		t.Fatalf("directory holds %v, want just [%s]", got, id)
	}
	if onDisk, _ := os.ReadFile(filepath.Join(dir, id)); !bytes.Equal(onDisk, data) {
		t.Fatalf("file content differs from the chunk")
	}
	s2 := chunkstoretest.Open(t, chunkstoretest.FileURL(dir))
	if got := chunkstoretest.Get(t, s2, id, 0, 0); !bytes.Equal(got, data) {
		t.Fatalf("chunk lost across reopen")
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := chunkstoretest.Ctx(t)
	for _, u := range []string{"gs://bucket", "file:///tmp/x?metadata=sidecar", "file://relative/dir", "::not a url"} {
		if s, err := chunkstore.Open(ctx, u, "east"); err == nil {
			s.Close()
			t.Errorf("chunkstore.Open(%q) succeeded", u)
		}
	}
	s := chunkstoretest.Open(t, "mem://")
	if s.Site() != "east" {
		t.Errorf("Site() = %q", s.Site())
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := chunkstore.NewID()
		if len(id) != 32 || chunkstore.ValidID(id) != nil || seen[id] {
			t.Fatalf("chunkstore.NewID() = %q: bad or repeated", id)
		}
		seen[id] = true
	}
}

func testList(t *testing.T, s *chunkstore.Store) {
	ctx := chunkstoretest.Ctx(t)
	before := time.Now().Add(-time.Minute)
	want := map[string]bool{}
	for i := range 3 {
		id := chunkstore.NewID()
		chunkstoretest.Put(t, s, id, chunkstoretest.RandomBytes(uint64(i), 100))
		want[id] = true
	}
	got := map[string]bool{}
	err := s.List(ctx, func(id string, mod time.Time) error {
		if mod.Before(before) || mod.After(time.Now().Add(time.Minute)) {
			t.Errorf("chunk %s modified at %v, want about now", id, mod)
		}
		got[id] = true
		return nil
	})
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("List = %v, %v; want %v", got, err, want)
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.List(ctx, func(string, time.Time) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("List with a failing callback: %v after %d calls", err, calls)
	}
}

// TestListSkipsOtherFiles: a file:// store lists chunks only, not the
// temporary files of writes under way or anything else in its directory.
func TestListSkipsOtherFiles(t *testing.T) {
	_, s, id := fileStoreWith(t, func(id string) []string { return []string{id + ".123.tmp", "notes.txt"} })
	var got []string
	if err := s.List(chunkstoretest.Ctx(t), func(id string, _ time.Time) error { got = append(got, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != id {
		t.Fatalf("List = %v, want [%s]", got, id)
	}
}

// TestRemoveStaleTemp: temporary files of writes that never finished go
// once older than the cutoff; newer ones, chunks and other files stay.
func TestRemoveStaleTemp(t *testing.T) {
	var stale, fresh, other string
	dir, s, id := fileStoreWith(t, func(id string) []string {
		stale, fresh, other = id+".18a2b3c4d5e6f.tmp", id+".18a2b3c4d5e70.tmp", "notes.1.tmp.txt"
		return []string{stale, fresh, other}
	})
	old := time.Now().Add(-48 * time.Hour)
	for _, name := range []string{stale, other, id} {
		if err := os.Chtimes(filepath.Join(dir, name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.RemoveStaleTemp(time.Now().Add(-24 * time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("RemoveStaleTemp = %d, %v; want 1", n, err)
	}
	var left []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if want := []string{id, fresh, other}; !slices.Equal(left, want) {
		t.Fatalf("left %v, want %v", left, want)
	}
	mem := chunkstoretest.Open(t, "mem://")
	if n, err := mem.RemoveStaleTemp(time.Now()); n != 0 || err != nil {
		t.Fatalf("mem:// RemoveStaleTemp = %d, %v", n, err)
	}
}

// fileStoreWith opens a file:// store in a new directory, puts one chunk,
// and writes beside it the files others names (given the chunk's ID).
func fileStoreWith(t *testing.T, others func(id string) []string) (string, *chunkstore.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s := chunkstoretest.Open(t, chunkstoretest.FileURL(dir))
	id := chunkstore.NewID()
	chunkstoretest.Put(t, s, id, []byte("x"))
	for _, name := range others(id) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("y"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, s, id
}
