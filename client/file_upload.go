package client

import (
	"context"
	"math"

	"github.com/geomds/geomds/chunkstore"
	"github.com/geomds/geomds/proto/extents"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Uploads in the background. A writer hands each chunk it fills to an
// upload of its own and goes on writing while the chunk travels, so the
// network, the server's checksum and the store's fsync of one chunk overlap
// with the filling of the next. Uploads enter the layout in the order they
// were started (a later write of the same range must win), and only once
// their chunk is stored: a commit waits for every upload, so a layout never
// names a chunk that is not fully stored. Until then the bytes stay here,
// readable and ready for a retry.

// uploadDepth bounds a file's uploads (started, or done but not yet in the
// layout): at most uploadDepth chunks, and as many Put streams at a time.
// A writer that would start one more first waits for the oldest. With
// maxBufferedAt, it bounds an open file's unsynced bytes: 32 MiB in a
// file's first 16 GiB, 96 MiB to 256 GiB, 384 MiB beyond (chunkSizeAt).
const uploadDepth = 4

// upload is one chunk on its way to the store.
type upload struct {
	id   string
	data []byte       // owned by the upload; nobody writes it
	exts []*pb.Extent // the file ranges data holds (Chunk = id); truncation cuts them
	done chan struct{}
	ref  *pb.ChunkRef // set, with err, before done closes
	err  error
}

// startUploadLocked starts uploading data as a new chunk holding exts (file
// ranges at offsets in data), after making room for it.
func (cn *content) startUploadLocked(ctx context.Context, data []byte, exts []*pb.Extent) error {
	for len(cn.uploads) >= uploadDepth {
		if err := cn.settleOldestLocked(ctx); err != nil {
			return err
		}
	}
	u := &upload{id: chunkstore.NewID(), data: data, exts: exts, done: make(chan struct{})}
	for _, e := range exts {
		e.Chunk = u.id
	}
	cn.uploads = append(cn.uploads, u)
	cn.armCommitLocked(ctx)
	uctx, cancel := cn.backgroundCtx(ctx)
	cn.uploading.Add(1)
	go func() {
		defer cn.uploading.Done()
		defer cancel()
		u.ref, u.err = cn.put(uctx, u.id, u.data)
		close(u.done)
	}()
	return nil
}

// backgroundCtx keeps ctx's values (the caller's identity) for work that
// outlives the call, and ends with the content's background work instead.
func (cn *content) backgroundCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(cn.bg, cancel)
	return bctx, func() { stop(); cancel() }
}

// reapLocked puts the uploads that are done, oldest first, in the layout,
// up to the first one still running or failed; it never waits.
func (cn *content) reapLocked() {
	for len(cn.uploads) > 0 && isClosed(cn.uploads[0].done) && cn.uploads[0].err == nil {
		cn.applyOldestLocked()
	}
}

// settleOldestLocked waits for the oldest upload and puts it in the layout.
// A failed upload is tried once more, here, under its own ID (the server
// stored nothing of the failed attempt); if that fails too it stays queued,
// bytes and all, and the error goes to the caller. A failed upload that
// truncation left no range is dropped: nothing needs its bytes.
func (cn *content) settleOldestLocked(ctx context.Context) error {
	u := cn.uploads[0]
	select {
	case <-u.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if u.err != nil && len(u.exts) == 0 {
		cn.uploads[0] = nil
		cn.uploads = cn.uploads[1:]
		return nil
	}
	if u.err != nil {
		ref, err := cn.put(ctx, u.id, u.data)
		if err != nil {
			return err
		}
		u.ref, u.err = ref, nil
	}
	cn.applyOldestLocked()
	return nil
}

// drainLocked settles every upload.
func (cn *content) drainLocked(ctx context.Context) error {
	for len(cn.uploads) > 0 {
		if err := cn.settleOldestLocked(ctx); err != nil {
			return err
		}
	}
	return nil
}

// applyOldestLocked moves the oldest upload, done and stored, into the
// layout; its chunk goes to the next commit even if truncation left it no
// range, so the metadata can delete it.
func (cn *content) applyOldestLocked() {
	u := cn.uploads[0]
	cn.uploads[0] = nil
	cn.uploads = cn.uploads[1:]
	cn.refs[u.id] = u.ref
	cn.brought = append(cn.brought, u.ref)
	for _, e := range u.exts {
		cn.layout = extents.Place(cn.layout, e)
	}
}

// cutUploadsLocked drops the uploads' ranges at or past size.
func (cn *content) cutUploadsLocked(size int64) {
	for _, u := range cn.uploads {
		u.exts = extents.Punch(u.exts, uint64(size), math.MaxUint64)
	}
}

// punchUploads returns ext (cut to [off, end)) without the ranges uploads
// hold, since those read from memory.
func punchUploads(ext []*pb.Extent, uploads []*upload, off, end int64) []*pb.Extent {
	for _, u := range uploads {
		for _, e := range u.exts {
			if int64(extents.End(e)) > off && int64(e.GetOffset()) < end {
				ext = extents.Punch(ext, e.GetOffset(), extents.End(e))
			}
		}
	}
	return ext
}

// copyUploads copies into dst (the file's bytes at off) what the uploads
// hold, oldest first, so a later upload's bytes win.
func copyUploads(dst []byte, off int64, uploads []*upload) {
	end := off + int64(len(dst))
	for _, u := range uploads {
		for _, e := range u.exts {
			from, to := max(int64(e.GetOffset()), off), min(int64(extents.End(e)), end)
			if from < to {
				at := int64(e.GetChunkOffset()) + from - int64(e.GetOffset())
				copy(dst[from-off:to-off], u.data[at:at+to-from])
			}
		}
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
