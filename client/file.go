package client

import (
	"context"
	"errors"
	"io"
	"os"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/protobuf/proto"
)

// Files: the content of regular files, with close-to-open consistency.
//
// A file's content is a list of extents into immutable chunks (files up to
// InlineMax are inline in the layout). Opening a file registers a handle in
// the client's session, so an unlinked file stays readable while it is
// open; a keeper renews the session while any File is open. The layout is
// loaded at the first read or write after open. Writes are buffered and cut
// into chunks of ChunkSize, uploaded through a node at the client's own
// site; Sync and Close commit the new layout with one SetLayout. Until then
// other clients see the old contents; after it, any open that follows sees
// the new ones. Reads fetch each chunk from the nearest site that holds it,
// check whole chunks against their sums, and prefetch ahead of a
// sequential reader.
//
// The methods without a ctx (ReadAt, WriteAt, ...) act with the ctx the
// file was opened with, minus its cancellation (its creds stay); the
// ...Context forms take one per call. A File is safe for concurrent use.

const accMode = 0o3 // O_ACCMODE

// File is an open regular file.
type File struct {
	c      *Client
	ctx    context.Context // the opener's values (creds), never cancelled
	ino    uint64
	handle uint64 // session handle; 0 when the file holds none
	flag   int
	cnt    *content
	attr   *pb.Attr // as the open left it

	// guarded by cnt.mu
	closed bool
	next   int64 // end of the last read, to spot sequential reads
}

// Ino returns the file's inode number.
func (f *File) Ino() uint64 { return f.ino }

// Writable reports whether the file was opened for writing.
func (f *File) Writable() bool { return f.flag&accMode != os.O_RDONLY }

// ReadAt reads len(p) bytes at off; at the end of the file it returns fewer
// with io.EOF.
func (f *File) ReadAt(p []byte, off int64) (int, error) { return f.ReadAtContext(f.ctx, p, off) }

// ReadAtContext is ReadAt bounded by ctx.
func (f *File) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, f.fail("read", pb.Errno_EINVAL, "negative offset")
	}
	if f.flag&accMode == os.O_WRONLY {
		return 0, f.fail("read", pb.Errno_EBADF, "file not open for reading")
	}
	n, sequential, err := f.read(ctx, p, off, false)
	if ErrnoOf(err) == pb.Errno_ESTALE {
		// A chunk the loaded layout names is gone: another client's commit
		// replaced those bytes and the chunk was collected. Read the file
		// as it is now, as a reopen would.
		n, sequential, err = f.read(ctx, p, off, true)
		if ErrnoOf(err) == pb.Errno_ESTALE {
			err = f.fail("read", pb.Errno_EIO, "the file's current layout names a chunk no site holds: "+err.Error())
		}
	}
	switch {
	case errors.Is(err, io.EOF):
		return 0, io.EOF
	case err != nil:
		return 0, withOp(ioError(ctx, err), "read", inoString(f.ino))
	}
	if sequential {
		f.cnt.prefetch(off + int64(n))
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// read reads into p at off, loading the layout first when reload (only if
// nothing is unsynced: unsynced writes sit over the layout they were made
// on). At or past the end it returns io.EOF.
func (f *File) read(ctx context.Context, p []byte, off int64, reload bool) (n int, sequential bool, err error) {
	cn := f.cnt
	cn.mu.Lock()
	if reload && !cn.dirty && len(cn.uploads) == 0 {
		cn.loaded = false
	}
	if err := f.usableLocked(ctx, "read"); err != nil {
		cn.mu.Unlock()
		return 0, false, err
	}
	if off >= cn.size {
		cn.mu.Unlock()
		return 0, false, io.EOF
	}
	n = int(min(int64(len(p)), cn.size-off))
	pieces, err := cn.planLocked(p[:n], off)
	sequential = off == f.next
	f.next = off + int64(n)
	cn.mu.Unlock()
	if err == nil {
		err = cn.fetch(ctx, pieces)
	}
	return n, sequential, err
}

// WriteAt writes p at off. The bytes are buffered (whole chunks are
// uploaded as they fill) and become visible to others at Sync or Close, or
// at the commit that follows an upload within Config.CommitUploadsAfter.
func (f *File) WriteAt(p []byte, off int64) (int, error) { return f.WriteAtContext(f.ctx, p, off) }

// WriteAtContext is WriteAt bounded by ctx.
func (f *File) WriteAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	if err := f.checkWrite("write", off); err != nil {
		return 0, err
	}
	if f.c.lowSpace.Load() {
		// The commit would be refused; say so now, not at close, which
		// many programs do not check.
		return 0, f.fail("write", pb.Errno_ENOSPC, "no space: a member of the cluster is below its free-space reserve")
	}
	cn := f.cnt
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if err := f.usableLocked(ctx, "write"); err != nil {
		return 0, err
	}
	if err := cn.writeLocked(ctx, p, off); err != nil {
		return 0, withOp(err, "write", inoString(f.ino))
	}
	return len(p), nil
}

// Truncate changes the file's size; it becomes visible at Sync or Close.
func (f *File) Truncate(size int64) error { return f.TruncateContext(f.ctx, size) }

// TruncateContext is Truncate bounded by ctx.
func (f *File) TruncateContext(ctx context.Context, size int64) error {
	if err := f.checkWrite("truncate", size); err != nil {
		return err
	}
	cn := f.cnt
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if err := f.usableLocked(ctx, "truncate"); err != nil {
		return err
	}
	cn.truncateLocked(size)
	return nil
}

// Sync commits the file's contents (when they changed) with one command.
func (f *File) Sync() error { return f.SyncContext(f.ctx) }

// SyncContext is Sync bounded by ctx.
func (f *File) SyncContext(ctx context.Context) error {
	cn := f.cnt
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if f.closed {
		return f.fail("sync", pb.Errno_EBADF, "file already closed")
	}
	return cn.syncLocked(ctx, f.commitHandleLocked())
}

// SyncSetAttrContext makes the attribute change sa (mode, owner, times; not
// the size) on f's file, and commits f's unsynced writes, which came
// before it, in the same command: one commit where Sync then SetAttr take
// two, and the writes cannot reset what sa sets (their commit sets mtime
// and clears setuid). Without unsynced writes it is a SetAttr. It returns
// the attributes the change left.
func (f *File) SyncSetAttrContext(ctx context.Context, sa *pb.SetAttr) (*pb.Attr, error) {
	cn := f.cnt
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if f.closed {
		return nil, f.fail("setattr", pb.Errno_EBADF, "file already closed")
	}
	sa = proto.Clone(sa).(*pb.SetAttr)
	sa.Ino, sa.Path = f.ino, ""
	if !cn.dirty {
		return f.c.SetAttr(ctx, sa)
	}
	a, err := cn.commitLocked(ctx, f.commitHandleLocked(), sa)
	return a, withOp(err, "setattr", inoString(f.ino))
}

// Close commits the contents if they changed (a handle open only for
// reading leaves that to a writer still open), then releases the handle.
func (f *File) Close() error { return f.CloseContext(f.ctx) }

// CloseContext is Close bounded by ctx.
func (f *File) CloseContext(ctx context.Context) error {
	last, ok, err := f.detach(ctx)
	if !ok {
		return err
	}
	if f.handle != 0 {
		err = errors.Join(err, withOp(f.c.Release(ctx, f.handle), "close", inoString(f.ino)))
	}
	if last {
		f.cnt.stop()
	}
	f.c.releaseSession()
	return err
}

// CloseReleaseLater is CloseContext except for the handle: the contents
// are committed before it returns (close-to-open holds), but the handle is
// released by the client's background workers (release.go), so the caller
// does not wait for that command. Until it is applied the inode stays
// pinned: an unlink leaves it as an orphan that the release then frees.
// Client.CloseSession and Client.Close send the releases still queued.
func (f *File) CloseReleaseLater(ctx context.Context) error {
	last, ok, err := f.detach(ctx)
	if !ok {
		return err
	}
	if last {
		f.cnt.stop()
	}
	if f.handle == 0 {
		f.c.releaseSession()
		return err
	}
	f.c.releaseLater(pendingRelease{ctx: context.WithoutCancel(ctx), ino: f.ino, handle: f.handle})
	return err
}

// detach commits the contents as a close does (a handle open only for
// reading leaves that to a writer still open) and marks f closed. It
// reports whether f was the last File of its content, and ok false when f
// was already closed.
func (f *File) detach(ctx context.Context) (last, ok bool, err error) {
	cn := f.cnt
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if f.closed {
		return false, false, f.fail("close", pb.Errno_EBADF, "file already closed")
	}
	last = len(cn.files) == 1
	if f.Writable() || last {
		err = cn.syncLocked(ctx, f.commitHandleLocked())
	}
	f.closed = true
	delete(cn.files, f)
	return last, true, err
}

// Stat returns the file's attributes, with the size this handle sees
// while writes are unsynced.
func (f *File) Stat() (*pb.Attr, error) { return f.StatContext(f.ctx) }

// StatContext is Stat bounded by ctx.
func (f *File) StatContext(ctx context.Context) (*pb.Attr, error) {
	a, err := f.c.GetAttr(ctx, f.ino)
	if err != nil {
		return nil, err
	}
	cn := f.cnt
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.dirty {
		a = proto.Clone(a).(*pb.Attr)
		a.Size = uint64(cn.size)
	}
	return a, nil
}

// PendingSize returns the size the file has with its unsynced writes, and
// whether there are any (without them the metadata's size is current).
func (f *File) PendingSize() (int64, bool) {
	f.cnt.mu.Lock()
	defer f.cnt.mu.Unlock()
	return f.cnt.size, f.cnt.dirty
}

// commitHandleLocked picks the handle a commit goes through: f's when it
// is open for writing, else a writing sibling's, else none (the caller's
// write permission decides).
func (f *File) commitHandleLocked() uint64 {
	if f.Writable() && f.handle != 0 {
		return f.handle
	}
	return f.cnt.writeHandleLocked()
}

// usableLocked checks that f is open and its layout loaded.
func (f *File) usableLocked(ctx context.Context, op string) error {
	if f.closed {
		return f.fail(op, pb.Errno_EBADF, "file already closed")
	}
	return withOp(f.cnt.loadLocked(ctx), op, inoString(f.ino))
}

// checkWrite checks a write-like call's mode and offset.
func (f *File) checkWrite(op string, off int64) error {
	switch {
	case off < 0:
		return f.fail(op, pb.Errno_EINVAL, "negative offset or size")
	case !f.Writable():
		return f.fail(op, pb.Errno_EBADF, "file not open for writing")
	}
	return nil
}

func (f *File) fail(op string, errno pb.Errno, msg string) error {
	return &Error{Errno: errno, Op: op, Path: inoString(f.ino), Msg: msg}
}
