package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/geomds/geomds/proto/extents"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/servertest"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// TestDataPath runs the tests of background uploads and read-ahead on one
// cluster, with a client at east and one at west.
func TestDataPath(t *testing.T) {
	runTwoSites(t, []twoSiteTest{
		{"UploadFailsAtSync", testUploadFailsAtSync},
		{"UploadFailsAtClose", testUploadFailsAtClose},
		{"UploadFailsWaitingForRoom", testUploadFailsWaitingForRoom},
		{"ReadWhileUploading", testReadWhileUploading},
		{"ReadAhead", testReadAhead},
		{"ConcurrentReaders", testConcurrentReaders},
	})
}

// putGate stands in for a content's put: it fails while failing is set,
// and holds every upload while held is open.
type putGate struct {
	real    func(ctx context.Context, id string, data []byte) (*pb.ChunkRef, error)
	failing atomic.Bool
	calls   atomic.Int32
	held    chan struct{} // nil: none held; closed: let them go
}

var errInjected = &Error{Errno: pb.Errno_EIO, Op: "write", Msg: "injected upload failure"}

func (g *putGate) put(ctx context.Context, id string, data []byte) (*pb.ChunkRef, error) {
	g.calls.Add(1)
	if g.held != nil {
		select {
		case <-g.held:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if g.failing.Load() {
		return nil, errInjected
	}
	return g.real(ctx, id, data)
}

// gatedFile opens path with flag, its uploads going through a putGate.
func gatedFile(t *testing.T, ctx context.Context, c *Client, path string, flag int) (*File, *putGate) {
	t.Helper()
	f, err := c.OpenFile(ctx, path, flag, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return f, gate(f)
}

// gate replaces f's uploads with a putGate's.
func gate(f *File) *putGate {
	f.cnt.mu.Lock()
	defer f.cnt.mu.Unlock()
	g := &putGate{real: f.cnt.put}
	f.cnt.put = g.put
	return g
}

// testUploadFailsAtSync: an upload that fails in the background (and on
// its retry) makes Sync fail and commits nothing; once uploads work again,
// the next Sync commits every byte written.
func testUploadFailsAtSync(t *testing.T, ctx context.Context, east, west *Client) {
	old := randomBytes(ChunkSize+5, 10)
	if err := east.WriteFile(ctx, "/upfail", old, 0o644); err != nil {
		t.Fatal(err)
	}
	f, g := gatedFile(t, ctx, east, "/upfail", os.O_RDWR) // no O_TRUNC: that commits at open
	defer f.Close()
	g.failing.Store(true)
	data := randomBytes(3*ChunkSize+777, 11) // covers old; fewer chunks than uploadDepth: no write waits
	if n, err := f.WriteAt(data, 0); err != nil || n != len(data) {
		t.Fatalf("write: %d, %v (a background failure must not fail it)", n, err)
	}
	if err := f.Sync(); !errors.Is(err, errInjected) {
		t.Fatalf("sync with failing uploads: %v, want the upload's error", err)
	}
	if got := readAll(t, ctx, west, "/upfail"); !bytes.Equal(got, old) {
		t.Fatalf("after the failed sync west reads %d bytes, want the %d committed before", len(got), len(old))
	}
	if got := make([]byte, len(data)); !readsBack(t, f, got, data) {
		t.Fatalf("the writer lost its unsynced bytes")
	}
	g.failing.Store(false)
	if err := f.Sync(); err != nil {
		t.Fatalf("sync once uploads work: %v", err)
	}
	if got := readAll(t, ctx, west, "/upfail"); !bytes.Equal(got, data) {
		t.Fatalf("after the retried sync west reads %d bytes, want %d", len(got), len(data))
	}
	checkLayout(t, ctx, west, "/upfail", 4, len(data))
}

// readsBack reads len(got) bytes of f at 0 and compares them with want.
func readsBack(t *testing.T, f *File, got, want []byte) bool {
	t.Helper()
	n, err := f.ReadAt(got, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("read back: %v", err)
	}
	return bytes.Equal(got[:n], want)
}

// testUploadFailsAtClose: Close reports a failed upload, and the file keeps
// what was committed before.
func testUploadFailsAtClose(t *testing.T, ctx context.Context, east, west *Client) {
	f, g := gatedFile(t, ctx, east, "/closefail", os.O_RDWR|os.O_CREATE|os.O_EXCL)
	g.failing.Store(true)
	if _, err := f.WriteAt(randomBytes(2*ChunkSize, 12), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); !errors.Is(err, errInjected) {
		t.Fatalf("close with a failing upload: %v, want the upload's error", err)
	}
	if a, err := west.Stat(ctx, "/closefail"); err != nil || a.GetSize() != 0 {
		t.Fatalf("after the failed close: %v, %v; want an empty file", a, err)
	}

	// Bytes a truncation dropped need no upload: their failure is moot.
	f, g = gatedFile(t, ctx, east, "/closefail", os.O_RDWR)
	g.failing.Store(true)
	if _, err := f.WriteAt(randomBytes(2*ChunkSize, 13), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("small"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close after truncating away what failed to upload: %v", err)
	}
	if got := readAll(t, ctx, west, "/closefail"); string(got) != "small" {
		t.Fatalf("after truncating: west reads %q, want small", got)
	}
}

// testUploadFailsWaitingForRoom: a writer that needs room for another
// upload waits for the oldest, retries it once if it failed, and reports
// the failure when the retry fails too.
func testUploadFailsWaitingForRoom(t *testing.T, ctx context.Context, east, west *Client) {
	f, g := gatedFile(t, ctx, east, "/roomfail", os.O_RDWR|os.O_CREATE|os.O_EXCL)
	defer f.Close()
	g.failing.Store(true)
	var werr error
	for i := 0; i <= uploadDepth && werr == nil; i++ {
		_, werr = f.WriteAt(randomBytes(ChunkSize, uint64(20+i)), int64(i)*ChunkSize)
	}
	if !errors.Is(werr, errInjected) {
		t.Fatalf("writing past uploadDepth failed chunks: %v, want the upload's error", werr)
	}
	f.cnt.mu.Lock()
	queued := len(f.cnt.uploads)
	f.cnt.mu.Unlock()
	if queued > uploadDepth {
		t.Fatalf("%d uploads queued, more than uploadDepth", queued)
	}
}

// testReadWhileUploading: while uploads are held in flight, the writer
// reads its bytes back (from the uploads and the buffer), overwrites part
// of a chunk on its way (the later write wins), and truncates into it;
// once the uploads go, Sync commits exactly that.
func testReadWhileUploading(t *testing.T, ctx context.Context, east, west *Client) {
	f, g := gatedFile(t, ctx, east, "/inflight", os.O_RDWR|os.O_CREATE|os.O_EXCL)
	defer f.Close()
	g.held = make(chan struct{})
	model := randomBytes(2*ChunkSize+ChunkSize/2, 30)
	if _, err := f.WriteAt(model, 0); err != nil {
		t.Fatal(err)
	}
	patch := randomBytes(1000, 31)
	at := ChunkSize - 500 // across the boundary of the first two uploads
	if _, err := f.WriteAt(patch, int64(at)); err != nil {
		t.Fatal(err)
	}
	copy(model[at:], patch)
	if got := make([]byte, len(model)); !readsBack(t, f, got, model) {
		t.Fatalf("read while uploading differs from what was written")
	}
	size := ChunkSize + ChunkSize/3
	if err := f.Truncate(int64(size)); err != nil {
		t.Fatal(err)
	}
	model = model[:size]
	if got := make([]byte, len(model)+10); !readsBack(t, f, got, model) {
		t.Fatalf("read after truncating under uploads differs")
	}
	if g.calls.Load() == 0 {
		t.Fatalf("no upload started before Sync")
	}
	close(g.held)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, ctx, west, "/inflight"); !bytes.Equal(got, model) {
		t.Fatalf("west reads %d bytes, want %d", len(got), len(model))
	}
}

// testReadAhead reads a committed file sequentially through a new handle,
// in the kernel's 128 KiB pieces and across chunk boundaries and the end,
// and checks that the windows ahead were prefetched.
func testReadAhead(t *testing.T, ctx context.Context, east, west *Client) {
	data := randomBytes(3*ChunkSize+12345, 40)
	if err := east.WriteFile(ctx, "/ahead", data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := west.OpenFile(ctx, "/ahead", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 128<<10)
	for off := 0; off < len(data); off += len(buf) {
		n, err := f.ReadAt(buf, int64(off))
		want := data[off:min(off+len(buf), len(data))]
		if n != len(want) || !bytes.Equal(buf[:n], want) || (err != nil) != (n < len(buf)) {
			t.Fatalf("read at %d: %d bytes, %v; want %d", off, n, err, len(want))
		}
		if off == 0 {
			checkPrefetched(t, f, 3)
		}
	}
	for _, r := range []struct{ off, n int }{
		{ChunkSize - 100, 200}, {2*ChunkSize - 1, 2}, {len(data) - 10, 10}, {len(data) - 10, 20},
	} {
		got := make([]byte, r.n)
		n, err := f.ReadAt(got, int64(r.off))
		want := data[r.off:min(r.off+r.n, len(data))]
		if n != len(want) || !bytes.Equal(got[:n], want) || (n < r.n) != errors.Is(err, io.EOF) {
			t.Fatalf("read of %d at %d: %d bytes, %v; want %d", r.n, r.off, n, err, len(want))
		}
	}
	if n, err := f.ReadAt(buf, int64(len(data))); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("read at the end: %d, %v; want 0, EOF", n, err)
	}
}

// checkPrefetched waits for f's prefetches and checks that the windows of
// chunks 1..n (the first is being read) are cached.
func checkPrefetched(t *testing.T, f *File, n int) {
	t.Helper()
	cn := f.cnt
	cn.prefetching.Wait()
	cn.mu.Lock()
	defer cn.mu.Unlock()
	for i := 1; i <= n; i++ {
		ext := extents.Overlapping(cn.layout, uint64(i*ChunkSize), uint64(i*ChunkSize+1))
		if len(ext) != 1 || !cn.cache.has(cn.refs[ext[0].GetChunk()], ext[0].GetChunkOffset()) {
			t.Fatalf("chunk %d not prefetched after the first sequential read", i)
		}
	}
}

// testConcurrentReaders reads random ranges of a file larger than the
// window cache from several goroutines through one handle and a Dup, so
// windows are evicted (and their buffers recycled) while others read.
func testConcurrentReaders(t *testing.T, ctx context.Context, east, west *Client) {
	data := randomBytes((cacheWindows+3)*ChunkSize+999, 70)
	if err := east.WriteFile(ctx, "/many", data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := west.OpenFile(ctx, "/many", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := f.Dup(ctx, os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		h := []*File{f, g}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := randomBytes(64, uint64(80+i))
			for j := 0; j+8 <= len(r); j += 8 {
				off := int(uint64(r[j])<<16|uint64(r[j+1])<<8|uint64(r[j+2])) * 16 % len(data)
				n := 1 + (int(r[j+3])<<12+int(r[j+4])<<4)%(2*ChunkSize)
				got := make([]byte, n)
				k, err := h.ReadAt(got, int64(off))
				want := data[off:min(off+n, len(data))]
				if (err != nil && !errors.Is(err, io.EOF)) || !bytes.Equal(got[:k], want) {
					errs <- fmt.Errorf("read of %d at %d: %d bytes, %v", n, off, k, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestWindowRefs checks that a window evicted while a reader holds it keeps
// its buffer until the reader lets go.
func TestWindowRefs(t *testing.T) {
	wc := newWindowCache(nil)
	ready := func(key windowKey) *window {
		w, fetch := wc.claim(key, true)
		if !fetch {
			t.Fatalf("window %v claimed twice", key)
		}
		w.buf = windowBufs.Get().(*[ChunkSize]byte)
		w.data = chunkData{w.buf[:10]}
		close(w.ready)
		return w
	}
	held := ready(windowKey{"held", 0})
	copy(held.buf[:], "0123456789")
	for i := range cacheWindows + 1 {
		wc.release(ready(windowKey{"other", uint64(i)}))
	}
	if wc.has(&pb.ChunkRef{Id: "held", Size: 10}, 0) {
		t.Fatalf("the held window was not evicted")
	}
	if held.buf == nil || string(held.data.join()) != "0123456789" {
		t.Fatalf("an evicted window lost its bytes while a reader held it")
	}
	wc.release(held)
	if held.buf != nil || held.refs != 0 {
		t.Fatalf("the last release kept the buffer (refs %d)", held.refs)
	}
	wc.clear()
	if len(wc.m) != 0 {
		t.Fatalf("%d windows left after clear", len(wc.m))
	}
}

// TestGetCodec checks that Get replies decode into the caller's buffer as
// the standard codec decodes them, with what does not fit in a slice of
// its own, unknown fields skipped and truncated messages refused.
func TestGetCodec(t *testing.T) {
	std := encoding.GetCodecV2(grpcproto.Name)
	dst := make([]byte, 100)
	c := newGetCodec(dst)
	msgs := []*pb.GetChunkReply{
		{Size: 150, Sum: sumOf([]byte("x")), Data: randomBytes(60, 90)},
		{Data: randomBytes(40, 91)},
		{Data: randomBytes(50, 92)}, // past dst: a slice of its own
		{Sum: sumOf(nil)},
		{},
	}
	for i, m := range msgs {
		enc, err := std.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got := &pb.GetChunkReply{}
		if err := c.Unmarshal(enc, got); err != nil || !proto.Equal(got, m) {
			t.Fatalf("message %d: decoded %v, %v", i, got, err)
		}
		if i < 2 && &got.Data[0] != &dst[[]int{0, 60}[i]] {
			t.Fatalf("message %d: data not decoded into the buffer", i)
		}
	}
	b, _ := proto.Marshal(&pb.GetChunkReply{Size: 7, Data: []byte("abc")})
	unknown := protowire.AppendTag(nil, 99, protowire.BytesType)
	unknown = protowire.AppendBytes(unknown, []byte("later field"))
	unknown = protowire.AppendTag(unknown, 98, protowire.Fixed64Type)
	unknown = protowire.AppendFixed64(unknown, 1)
	got := &pb.GetChunkReply{}
	if err := newGetCodec(make([]byte, 10)).Unmarshal(mem.BufferSlice{mem.SliceBuffer(append(unknown, b...))}, got); err != nil ||
		got.GetSize() != 7 || string(got.GetData()) != "abc" {
		t.Fatalf("with unknown fields: %v, %v", got, err)
	}
	if err := newGetCodec(dst).Unmarshal(mem.BufferSlice{mem.SliceBuffer(b[:len(b)-1])}, got); err == nil {
		t.Fatalf("a truncated message decoded")
	}
}

// TestPutCodec checks that the Put stream's codec writes the bytes the
// standard codec writes, and reads them back.
func TestPutCodec(t *testing.T) {
	std := encoding.GetCodecV2(grpcproto.Name)
	for _, m := range []*pb.PutChunkRequest{
		{Id: "abc", Size: 3, Sum: sumOf([]byte("xyz")), Data: []byte("xyz")},
		{Data: randomBytes(chunkMessageBytes, 50)},
		{Id: "empty", Size: 0, Sum: sumOf(nil)},
		{},
	} {
		got, err := chunkPutCodec.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Materialize(), want) {
			t.Fatalf("message %q: codec wrote other bytes than the standard encoding", m.GetId())
		}
		back := &pb.PutChunkRequest{}
		if err := std.Unmarshal(got, back); err != nil || !proto.Equal(back, m) {
			t.Fatalf("message %q: decoded %v, %v", m.GetId(), back, err)
		}
	}
}

// TestChunkDataCopyAt checks reads out of a window kept as message pieces.
func TestChunkDataCopyAt(t *testing.T) {
	whole := randomBytes(100, 60)
	d := chunkData{whole[:10], whole[10:11], whole[11:70], whole[70:]}
	if d.size() != 100 || !bytes.Equal(d.join(), whole) {
		t.Fatalf("size %d, join differs", d.size())
	}
	for off := 0; off <= 100; off += 7 {
		for _, n := range []int{0, 1, 9, 30, 100} {
			got := make([]byte, n)
			k := d.copyAt(got, uint64(off))
			want := whole[off:min(off+n, 100)]
			if k != len(want) || !bytes.Equal(got[:k], want) {
				t.Fatalf("copyAt(%d bytes, %d) = %d", n, off, k)
			}
		}
	}
	var wg sync.WaitGroup // chunkData is read-only: concurrent readers are fine
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); d.copyAt(make([]byte, 50), 25) }()
	}
	wg.Wait()
}

// TestBufferBound checks what a file's buffered writes may hold: scattered
// small writes never get a chunk's capacity each, and a sequential writer's
// chunks leave for upload in the buffers the writes filled.
func TestBufferBound(t *testing.T) {
	cn := newContent(&Client{}, &pb.Attr{Ino: 2})
	defer cn.stop()
	var mu sync.Mutex // uploads run concurrently
	var sizes []int
	cn.put = func(_ context.Context, id string, data []byte) (*pb.ChunkRef, error) {
		mu.Lock()
		sizes = append(sizes, len(data))
		mu.Unlock()
		return &pb.ChunkRef{Id: id, Size: uint64(len(data)), Sum: sumOf(data)}, nil
	}
	ctx := context.Background()
	cn.mu.Lock()
	defer cn.mu.Unlock()
	for off := int64(0); off < 64<<20; off += 64 << 10 {
		if err := cn.writeLocked(ctx, []byte{1}, off); err != nil {
			t.Fatal(err)
		}
		held := 0
		for _, g := range cn.segs {
			held += cap(g.data)
		}
		if held > 2*maxBufferedAt(off) {
			t.Fatalf("after a write at %d, segments hold %d bytes of capacity", off, held)
		}
	}
	if err := cn.drainLocked(ctx); err != nil {
		t.Fatal(err)
	}
	cn.segs = nil
	mu.Lock()
	sizes = nil
	mu.Unlock()
	block := make([]byte, 1<<20)
	for off := int64(128 << 20); off < 128<<20+3*ChunkSize; off += int64(len(block)) {
		if err := cn.writeLocked(ctx, block, off); err != nil {
			t.Fatal(err)
		}
	}
	if err := cn.drainLocked(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != 3 || len(cn.segs) != 0 {
		t.Fatalf("sequential writes of 3 chunks: uploads %v, %d segments left", sizes, len(cn.segs))
	}
}

// TestSmallFirstBuffer: a small first write gets a small buffer, not a
// chunk's capacity; a sequential writer that goes on gets a chunk's
// capacity and its bytes stay in order.
func TestSmallFirstBuffer(t *testing.T) {
	cn := newContent(&Client{}, &pb.Attr{Ino: 2})
	defer cn.stop()
	cn.put = func(_ context.Context, id string, data []byte) (*pb.ChunkRef, error) {
		return &pb.ChunkRef{Id: id, Size: uint64(len(data)), Sum: sumOf(data)}, nil
	}
	ctx := context.Background()
	cn.mu.Lock()
	defer cn.mu.Unlock()
	want := randomBytes(smallSegment+5000, 61)
	if err := cn.writeLocked(ctx, want[:3000], 0); err != nil {
		t.Fatal(err)
	}
	if len(cn.segs) != 1 || cap(cn.segs[0].data) != smallSegment {
		t.Fatalf("after a 3000-byte write: %d segments, capacity %d; want one of %d", len(cn.segs), cap(cn.segs[0].data), smallSegment)
	}
	for off := 3000; off < len(want); off += 3000 {
		if err := cn.writeLocked(ctx, want[off:min(off+3000, len(want))], int64(off)); err != nil {
			t.Fatal(err)
		}
	}
	if len(cn.segs) != 1 || cap(cn.segs[0].data) != ChunkSize || !bytes.Equal(cn.segs[0].data, want) {
		t.Fatalf("after %d sequential bytes: %d segments, capacity %d, bytes equal %v", len(want),
			len(cn.segs), cap(cn.segs[0].data), bytes.Equal(cn.segs[0].data, want))
	}
}

// TestUploadsCommittedWhileOpen: a writer that neither syncs nor closes
// has its uploaded chunks committed within Config.CommitUploadsAfter, so
// other clients read them and the nodes' sweep of chunks no metadata names
// cannot take them; it goes on writing, and its close commits the rest.
func TestUploadsCommittedWhileOpen(t *testing.T) {
	cl := servertest.Start(t, servertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	east, err := New(ctx, Config{Endpoints: cl.Endpoints(), Site: "east", Creds: &pb.Creds{},
		CommitUploadsAfter: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer east.Close()
	west := siteClient(t, ctx, cl, "west")
	f, err := east.OpenFile(ctx, "/log", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	model := randomBytes(ChunkSize+ChunkSize/2, 40) // one chunk fills and uploads
	if _, err := f.WriteAt(model, 0); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := west.Stat(ctx, "/log")
		if err != nil {
			t.Fatal(err)
		}
		if st.GetSize() == uint64(len(model)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("west sees %d bytes of /log after 20 s; want the %d written, committed without Sync", st.GetSize(), len(model))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := readAll(t, ctx, west, "/log"); !bytes.Equal(got, model) {
		t.Fatalf("west reads %d bytes that differ from the %d written", len(got), len(model))
	}
	more := randomBytes(1000, 41)
	if _, err := f.WriteAt(more, int64(len(model))); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, ctx, west, "/log"); !bytes.Equal(got, append(model, more...)) {
		t.Fatalf("after close west reads %d bytes, want %d", len(got), len(model)+len(more))
	}
}

// TestChunkTiers: a writer cuts 4 MiB chunks in a file's first 16 GiB,
// 16 MiB chunks to 256 GiB and 64 MiB chunks beyond, each chunk sized by
// where it starts, so that a file written in order reaches about 3 TiB
// within a layout's 65,536 extents (namespace.MaxExtents).
func TestChunkTiers(t *testing.T) {
	var chunks int
	var end int64
	for end < 3136<<30 {
		end += int64(chunkSizeAt(end))
		chunks++
	}
	if chunks != 1<<16 || end != 3136<<30 {
		t.Fatalf("a file written in order fills 65,536 extents at %d GiB after %d chunks; want 3,136 GiB", end>>30, chunks)
	}
	if bigChunkSize > maxChunkBytes {
		t.Fatalf("chunks of %d bytes are more than the server stores (%d)", bigChunkSize, maxChunkBytes)
	}

	const mib = 1 << 20
	for _, tc := range []struct {
		start int64
		want  []int64 // upload sizes, in MiB
	}{
		{midChunksFrom - 8*mib, []int64{4, 4, 16, 16, 8}},
		{bigChunksFrom - 16*mib, []int64{16, 64, 12}},
	} {
		cn := newContent(&Client{}, &pb.Attr{Ino: 2})
		var sizes []int64
		cn.put = func(_ context.Context, id string, data []byte) (*pb.ChunkRef, error) {
			return &pb.ChunkRef{Id: id, Size: uint64(len(data)), Sum: sumOf(data)}, nil
		}
		ctx := context.Background()
		cn.mu.Lock()
		var total int64
		for _, w := range tc.want {
			total += w * mib
		}
		block := make([]byte, mib)
		for off := tc.start; off < tc.start+total; off += mib {
			block[0] = byte(off / mib)
			if err := cn.writeLocked(ctx, block, off); err != nil {
				t.Fatal(err)
			}
		}
		if err := cn.flushAllLocked(ctx); err != nil { // as a Sync does
			t.Fatal(err)
		}
		if err := cn.drainLocked(ctx); err != nil {
			t.Fatal(err)
		}
		at := tc.start
		for _, e := range cn.layout {
			if int64(e.GetOffset()) != at {
				t.Fatalf("from %d MiB: extent %v, want one at %d", tc.start/mib, e, at)
			}
			sizes = append(sizes, int64(e.GetLength())/mib)
			at += int64(e.GetLength())
		}
		cn.mu.Unlock()
		cn.stop()
		if !slices.Equal(sizes, tc.want) {
			t.Fatalf("written in order from %d MiB: chunks of %v MiB, want %v", tc.start/mib, sizes, tc.want)
		}
	}
}

// A file whose layout passed extents.Max (scattered writes and commits,
// each its own extent) refuses the next write with EFBIG, at write(2)
// rather than at the commit; a truncation that brings it back under the
// bound lets writes in.
func TestWriteTooFragmented(t *testing.T) {
	cn := newContent(&Client{}, &pb.Attr{Ino: 2, Size: 1})
	cn.mu.Lock()
	defer cn.mu.Unlock()
	cn.loaded = true
	fragmented := func(n int) {
		cn.layout = make([]*pb.Extent, n)
		for i := range cn.layout { // 1 byte of every 2
			cn.layout[i] = &pb.Extent{Offset: 2 * uint64(i), Length: 1, Chunk: "c", ChunkOffset: uint64(i)}
		}
		cn.size = 2 * int64(n)
	}
	ctx := context.Background()
	write := func(off int64) error { return cn.writeLocked(ctx, []byte{1}, off) }
	fragmented(extents.Max)
	if err := write(1); err != nil {
		t.Fatalf("write with %d extents: %v", extents.Max, err)
	}
	fragmented(extents.Max + 1)
	if err := write(1); ErrnoOf(err) != pb.Errno_EFBIG {
		t.Fatalf("write past %d extents: %v, want EFBIG", extents.Max, err)
	}
	cn.truncateLocked(2 * extents.Max)
	if err := write(1); err != nil {
		t.Fatalf("write after truncating back to %d extents: %v", extents.Max, err)
	}
}
