package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/geomds/geomds/proto/chunksum"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/servertest"
)

func sumOf(b []byte) []byte { return chunksum.Of(b) }

// TestFiles runs the file API's tests on one 3-node cluster (sites east,
// west, north), with a client at east and one at west; each test uses
// its own paths.
func TestFiles(t *testing.T) {
	runTwoSites(t, []twoSiteTest{
		{"RoundTrip", testFileRoundTrip},
		{"ChunkPutLocal", testChunkPutLocal},
		{"CloseToOpen", testFileCloseToOpen},
		{"UnlinkedStaysReadable", testFileUnlinkedStaysReadable},
		{"RandomOps", testFileRandomOps},
		{"Packing", testFilePacking},
		{"Errors", testFileErrors},
		{"TwoWriters", testFileTwoWriters},
		{"BigOffsets", testFileBigOffsets},
	})
}

// twoSiteTest is a subtest given a client at east and one at west.
type twoSiteTest struct {
	name string
	fn   func(t *testing.T, ctx context.Context, east, west *Client)
}

// runTwoSites runs tests on one 3-node cluster (sites east, west, north).
func runTwoSites(t *testing.T, tests []twoSiteTest) {
	cl := servertest.Start(t, servertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	east, west := siteClient(t, ctx, cl, "east"), siteClient(t, ctx, cl, "west")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, ctx, east, west) })
	}
}

func siteClient(t *testing.T, ctx context.Context, cl *servertest.Cluster, site string) *Client {
	t.Helper()
	c, err := New(ctx, Config{Endpoints: cl.Endpoints(), Site: site, Creds: &pb.Creds{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func randomBytes(n int, seed uint64) []byte {
	var key [32]byte
	key[0] = byte(seed)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

// testFileRoundTrip: a small file is committed inline, a large one in
// chunks of at most ChunkSize; both read back equal at the other site.
func testFileRoundTrip(t *testing.T, ctx context.Context, east, west *Client) {
	small := []byte("hello, inline world")
	if err := east.WriteFile(ctx, "/small", small, 0o644); err != nil {
		t.Fatal(err)
	}
	big := randomBytes(2*ChunkSize+12345, 1)
	if err := east.WriteFile(ctx, "/big", big, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{"/small": small, "/big": big} {
		got, err := west.ReadFile(ctx, name)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s read at west: %d bytes, %v; want %d bytes", name, len(got), err, len(want))
		}
	}
	checkLayout(t, ctx, east, "/small", 0, len(small))
	checkLayout(t, ctx, east, "/big", 3, len(big))
}

// testFileBigOffsets: bytes written in order across 16 GiB of a sparse
// file go in a 4 MiB chunk before it and a 16 MiB one after (chunkSizeAt),
// and read back equal at the other site, the hole before them as zeros.
func testFileBigOffsets(t *testing.T, ctx context.Context, east, west *Client) {
	const at = midChunksFrom - ChunkSize
	data := randomBytes(ChunkSize+midChunkSize+777, 5)
	f, err := east.OpenFile(ctx, "/sparse", os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); off += 1 << 20 { // as a copy writes
		if _, err := f.WriteAt(data[off:min(off+1<<20, len(data))], at+int64(off)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := east.layoutOf(ctx, "/sparse")
	if err != nil {
		t.Fatal(err)
	}
	var sizes []uint64
	for _, e := range r.GetExtents() {
		sizes = append(sizes, e.GetLength())
	}
	if want := []uint64{ChunkSize, midChunkSize, 777}; !slices.Equal(sizes, want) || r.GetAttr().GetSize() != at+uint64(len(data)) {
		t.Fatalf("layout of /sparse: extents %v, size %d; want %v, %d", sizes, r.GetAttr().GetSize(), want, at+uint64(len(data)))
	}
	g, err := west.OpenFile(ctx, "/sparse", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	got := make([]byte, len(data)+4096)
	if n, err := g.ReadAt(got, at-4096); n != len(got) || (err != nil && err != io.EOF) {
		t.Fatalf("read at west: %d bytes, %v", n, err)
	}
	if !bytes.Equal(got[:4096], make([]byte, 4096)) || !bytes.Equal(got[4096:], data) {
		t.Fatal("read at west: bytes differ from those written")
	}
}

// testChunkPutLocal: once the client's own site answers, chunks go there.
func testChunkPutLocal(t *testing.T, ctx context.Context, east, west *Client) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := east.GetAttr(ctx, 1)
		if err == nil && east.LastMeta().GetSite() == "east" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no read served at east: %v, %v", err, east.LastMeta())
		}
		time.Sleep(50 * time.Millisecond)
	}
	ref, err := east.putChunk(ctx, []byte("local bytes"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ref.GetSites()) != 1 || ref.GetSites()[0] != "east" {
		t.Fatalf("chunk stored at %v, want east", ref.GetSites())
	}
	got, err := east.getChunk(ctx, ref, 0, 0)
	if err != nil || string(got) != "local bytes" {
		t.Fatalf("get: %q, %v", got, err)
	}
	bad := &pb.ChunkRef{Id: ref.GetId(), Size: ref.GetSize(), Sum: sumOf([]byte("other bytes")), Sites: ref.GetSites()}
	if _, err := east.getChunk(ctx, bad, 0, 0); ErrnoOf(err) != pb.Errno_EIO {
		t.Fatalf("get with a wrong recorded sum: %v, want EIO", err)
	}
	if got, err := east.getChunk(ctx, bad, 6, 5); err != nil || string(got) != "bytes" {
		t.Fatalf("partial get (not verified): %q, %v", got, err)
	}
}

// checkLayout checks that path has the given number of chunks (0: inline),
// each at one site with its sum, and the given size.
func checkLayout(t *testing.T, ctx context.Context, c *Client, path string, chunks, size int) {
	t.Helper()
	r, err := c.layoutOf(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if r.GetAttr().GetSize() != uint64(size) || len(r.GetChunks()) != chunks {
		t.Fatalf("%s: size %d with %d chunks, want %d with %d", path, r.GetAttr().GetSize(), len(r.GetChunks()), size, chunks)
	}
	if chunks == 0 && (len(r.GetExtents()) != 1 || len(r.GetExtents()[0].GetInline()) != size) {
		t.Fatalf("%s: not one inline extent: %v", path, r.GetExtents())
	}
	for _, ch := range r.GetChunks() {
		if len(ch.GetSites()) != 1 || len(ch.GetSum()) != chunksum.Size || ch.GetSize() > ChunkSize {
			t.Fatalf("%s: chunk %v: want one site, a sum, at most ChunkSize", path, ch)
		}
	}
}

// testFileCloseToOpen: a writer's data is invisible elsewhere until Sync,
// then visible to every later open.
func testFileCloseToOpen(t *testing.T, ctx context.Context, east, west *Client) {
	if err := east.WriteFile(ctx, "/f", []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := east.OpenFile(ctx, "/f", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("new data"), 0); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, ctx, west, "/f"); string(got) != "old" {
		t.Fatalf("before sync, west reads %q, want old", got)
	}
	if a, err := f.Stat(); err != nil || a.GetSize() != 8 {
		t.Fatalf("writer's Stat: %v, %v; want size 8", a, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, ctx, west, "/f"); string(got) != "new data" {
		t.Fatalf("after sync, west reads %q", got)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); ErrnoOf(err) != pb.Errno_EBADF {
		t.Fatalf("second close: %v, want EBADF", err)
	}
}

// readAll opens path, reads it through a handle, and closes it.
func readAll(t *testing.T, ctx context.Context, c *Client, path string) []byte {
	t.Helper()
	f, err := c.OpenFile(ctx, path, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, a.GetSize()+10)
	n, err := f.ReadAt(buf, 0)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("read past the end: %v, want EOF", err)
	}
	return buf[:n]
}

// testFileUnlinkedStaysReadable: an open handle keeps an unlinked file's
// contents until it closes.
func testFileUnlinkedStaysReadable(t *testing.T, ctx context.Context, east, west *Client) {
	data := randomBytes(ChunkSize+7, 2)
	if err := east.WriteFile(ctx, "/doomed", data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := west.OpenFile(ctx, "/doomed", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := east.Remove(ctx, "/doomed"); err != nil {
		t.Fatal(err)
	}
	if _, err := east.Stat(ctx, "/doomed"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat after unlink: %v", err)
	}
	got := make([]byte, len(data))
	if n, err := f.ReadAt(got, 0); n != len(data) || err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read of the unlinked file: %d, %v", n, err)
	}
	if a, err := f.Stat(); err != nil || a.GetNlink() != 0 {
		t.Fatalf("stat of the unlinked file: %v, %v; want nlink 0", a, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := west.GetAttr(ctx, f.Ino()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("inode after the last close: %v, want ENOENT", err)
	}
}

// testFileRandomOps applies random writes, truncates and syncs to a file
// and to a byte slice, and compares after each sync through another
// client, and at the end through Dup's shared view.
func testFileRandomOps(t *testing.T, ctx context.Context, east, west *Client) {
	f, err := east.OpenFile(ctx, "/r", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := rand.New(rand.NewPCG(3, 3))
	var model []byte
	const span = 3 * ChunkSize
	for i := range 24 {
		switch r.IntN(5) {
		case 0, 1, 2:
			off, n := r.IntN(span), 1+r.IntN(ChunkSize+ChunkSize/2)
			if r.IntN(3) == 0 {
				n = 1 + r.IntN(3000)
			}
			data := randomBytes(n, uint64(i))
			if _, err := f.WriteAt(data, int64(off)); err != nil {
				t.Fatal(err)
			}
			model = writeModel(model, data, off)
		case 3:
			size := r.IntN(span)
			if err := f.Truncate(int64(size)); err != nil {
				t.Fatal(err)
			}
			model = truncateModel(model, size)
		case 4:
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			if got, err := west.ReadFile(ctx, "/r"); err != nil || !bytes.Equal(got, model) {
				t.Fatalf("step %d: west reads %d bytes (%v), want %d", i, len(got), err, len(model))
			}
		}
		got := make([]byte, len(model))
		if n, err := f.ReadAt(got, 0); n != len(model) || (err != nil && err != io.EOF) || !bytes.Equal(got, model) {
			t.Fatalf("step %d: own read %d bytes, %v", i, n, err)
		}
	}
	g, err := f.Dup(ctx, os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(model))
	if n, err := g.ReadAt(got, 0); n != len(model) || (err != nil && err != io.EOF) || !bytes.Equal(got, model) {
		t.Fatalf("Dup reads %d bytes, %v", n, err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if got, err := west.ReadFile(ctx, "/r"); err != nil || !bytes.Equal(got, model) {
		t.Fatalf("final: west reads %d bytes (%v), want %d", len(got), err, len(model))
	}
}

// testFilePacking: scattered small writes are committed in one chunk.
func testFilePacking(t *testing.T, ctx context.Context, east, west *Client) {
	f, err := east.OpenFile(ctx, "/packed", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var model []byte
	for i, off := range []int{200_000, 0, 100_000} {
		data := randomBytes(10, uint64(i))
		if _, err := f.WriteAt(data, int64(off)); err != nil {
			t.Fatal(err)
		}
		model = writeModel(model, data, off)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	r, err := west.layoutOf(ctx, "/packed")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.GetChunks()) != 1 || len(r.GetExtents()) != 3 || r.GetAttr().GetSize() != uint64(len(model)) {
		t.Fatalf("layout: %d chunks, %d extents, size %d; want 1, 3, %d",
			len(r.GetChunks()), len(r.GetExtents()), r.GetAttr().GetSize(), len(model))
	}
	if got, err := west.ReadFile(ctx, "/packed"); err != nil || !bytes.Equal(got, model) {
		t.Fatalf("west reads %d bytes, %v", len(got), err)
	}
}

// testFileErrors checks the errnos of the file API.
func testFileErrors(t *testing.T, ctx context.Context, east, west *Client) {
	if _, err := east.Mkdir(ctx, "/d", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := east.WriteFile(ctx, "/x", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		flag int
		want pb.Errno
	}{
		{"/nope", os.O_RDONLY, pb.Errno_ENOENT},
		{"/d", os.O_RDONLY, pb.Errno_EISDIR},
		{"/d", os.O_RDWR, pb.Errno_EISDIR},
		{"/x", os.O_RDWR | os.O_CREATE | os.O_EXCL, pb.Errno_EEXIST},
		{"/x/y", os.O_RDONLY, pb.Errno_ENOTDIR},
		{"/nope/y", os.O_WRONLY | os.O_CREATE, pb.Errno_ENOENT},
	} {
		if f, err := east.OpenFile(ctx, tc.path, tc.flag, 0o644); ErrnoOf(err) != tc.want {
			t.Errorf("open %s %#o: %v, want %v", tc.path, tc.flag, err, tc.want)
			if f != nil {
				f.Close()
			}
		}
	}
	f, err := east.OpenFile(ctx, "/x", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("y"), 0); ErrnoOf(err) != pb.Errno_EBADF {
		t.Errorf("write to a read-only file: %v, want EBADF", err)
	}
	if _, err := f.ReadAt(make([]byte, 1), -1); ErrnoOf(err) != pb.Errno_EINVAL {
		t.Errorf("read at -1: %v, want EINVAL", err)
	}
	if _, err := east.ReadFile(ctx, "/d"); ErrnoOf(err) != pb.Errno_EISDIR {
		t.Errorf("ReadFile of a directory: %v, want EISDIR", err)
	}
}

// testFileTwoWriters: two clients write one file through handles opened
// before either commits. Each commit carries only its own writes and
// truncation, laid over the file as it then is, so the later one lands on
// top where they overlap and the earlier one's writes elsewhere stay: for
// a file in chunks, for a small inline one, and with a truncation.
func testFileTwoWriters(t *testing.T, ctx context.Context, east, west *Client) {
	for _, size := range []int{2*ChunkSize + 100, 300} {
		name := fmt.Sprintf("/shared-%d", size)
		model := randomBytes(size, 50)
		if err := east.WriteFile(ctx, name, model, 0o644); err != nil {
			t.Fatal(err)
		}
		fe, err := east.OpenFile(ctx, name, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		fw, err := west.OpenFile(ctx, name, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		w := bytes.Repeat([]byte("W"), 40)
		e := bytes.Repeat([]byte("E"), 30)
		wAt, eAt := int64(size/2), int64(size/2+20) // overlapping: east's later commit wins there
		tail := int64(size + 10)                    // east also extends the file, past a hole
		for _, write := range []struct {
			f   *File
			p   []byte
			off int64
		}{{fw, w, wAt}, {fe, e, eAt}, {fe, []byte("tail"), tail}} {
			if _, err := write.f.WriteAt(write.p, write.off); err != nil {
				t.Fatal(err)
			}
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := fe.Close(); err != nil {
			t.Fatalf("%s: the second writer's close: %v", name, err)
		}
		copy(model[wAt:], w)
		model = append(model, make([]byte, tail+4-int64(len(model)))...)
		copy(model[eAt:], e)
		copy(model[tail:], "tail")
		for _, c := range []*Client{east, west} {
			if got := readAll(t, ctx, c, name); !bytes.Equal(got, model) {
				t.Fatalf("%s: %d bytes read, differing from the %d both writers' writes make", name, len(got), len(model))
			}
		}

		// A truncation commits as a cut of the file as it then is.
		fe, err = east.OpenFile(ctx, name, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := fe.Truncate(50); err != nil {
			t.Fatal(err)
		}
		fw, err = west.OpenFile(ctx, name, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.WriteAt([]byte("ww"), 10); err != nil {
			t.Fatal(err)
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := fe.Close(); err != nil {
			t.Fatal(err)
		}
		model = model[:50]
		copy(model[10:], "ww")
		if got := readAll(t, ctx, west, name); !bytes.Equal(got, model) {
			t.Fatalf("%s after truncation: %q, want %q", name, got, model)
		}
	}
}

// TestReadAfterChunksCollected: a reader holding a file open whose chunks
// another client's rewrite dropped, and the nodes then deleted, reads the
// file as it now is instead of failing.
func TestReadAfterChunksCollected(t *testing.T) {
	cl := servertest.Start(t, servertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	east, west := siteClient(t, ctx, cl, "east"), siteClient(t, ctx, cl, "west")
	const chunks = readAhead/ChunkSize + 2 // the last ones are past the read-ahead of a read at 0
	old := randomBytes(chunks*ChunkSize+100, 60)
	if err := east.WriteFile(ctx, "/f", old, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := west.OpenFile(ctx, "/f", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.ReadAt(make([]byte, 10), 0); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(cl.Dir(), "chunks-east")
	before, err := os.ReadDir(store)
	if err != nil || len(before) != chunks+1 {
		t.Fatalf("east's store holds %d chunks (%v), want %d", len(before), err, chunks+1)
	}
	rewritten := randomBytes(chunks*ChunkSize+50, 61)
	if err := east.WriteFile(ctx, "/f", rewritten, 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		gone := true
		for _, e := range before {
			if _, err := os.Stat(filepath.Join(store, e.Name())); err == nil {
				gone = false
			}
		}
		if gone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first version's chunks were not collected within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	off := int64(chunks-1)*ChunkSize + 10
	got := make([]byte, 1000)
	if _, err := r.ReadAt(got, off); err != nil {
		t.Fatalf("read after the chunks went: %v", err)
	}
	if !bytes.Equal(got, rewritten[off:off+1000]) {
		t.Fatalf("read after the chunks went differs from the rewrite")
	}
}
