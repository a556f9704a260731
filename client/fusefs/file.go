package fusefs

import (
	"context"
	"errors"
	"io"
	"syscall"

	"github.com/geomds/geomds/client"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Linux values the syscall package lacks.
const (
	fallocKeepSize = 0x1 // FALLOC_FL_KEEP_SIZE
	seekData       = 3   // SEEK_DATA
	seekHole       = 4   // SEEK_HOLE
)

// fileHandle is an open regular file of the mount.
type fileHandle struct {
	n *node
	f *client.File
}

var (
	_ fs.NodeOpener       = (*node)(nil)
	_ fs.FileReader       = (*fileHandle)(nil)
	_ fs.FileWriter       = (*fileHandle)(nil)
	_ fs.FileFlusher      = (*fileHandle)(nil)
	_ fs.FileFsyncer      = (*fileHandle)(nil)
	_ fs.FileReleaser     = (*fileHandle)(nil)
	_ fs.FileAllocater    = (*fileHandle)(nil)
	_ fs.FileGetattrer    = (*fileHandle)(nil)
	_ fs.FileSetattrer    = (*fileHandle)(nil)
	_ fs.FileLseeker      = (*fileHandle)(nil)
	_ fs.FileReaddirenter = (*dirHandle)(nil)
)

func newFileHandle(n *node, f *client.File) *fileHandle {
	n.addFile(f)
	return &fileHandle{n: n, f: f}
}

// Open opens a regular file. A second open in this mount shares the first
// one's content (Dup), so their unsynced writes are visible to each other.
func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	ctx = n.fsys.callCtx(ctx)
	n.mu.Lock()
	var f *client.File
	var err error
	if len(n.files) > 0 {
		f, err = n.files[0].Dup(ctx, int(flags))
	} else {
		f, err = n.fsys.c.OpenIno(ctx, n.ino(), int(flags))
	}
	if err == nil {
		n.files = append(n.files, f)
	}
	n.mu.Unlock()
	if err != nil {
		return nil, 0, toErrno(err)
	}
	if _, dirty := f.PendingSize(); !dirty {
		// Close-to-open: the kernel drops its page cache at open (no
		// FOPEN_KEEP_CACHE); drop its cached attributes too, so the size
		// another mount committed is seen now, not after AttrTimeout,
		// and what this mount knew of the inode (capabilities, the
		// attributes Access uses) with them.
		n.NotifyContent(-1, 0)
		n.caps.forget()
		n.memo.forget()
	}
	return &fileHandle{n: n, f: f}, 0, 0
}

func (h *fileHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := h.f.ReadAtContext(h.n.fsys.callCtx(ctx), dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, toErrno(err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

func (h *fileHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	n, err := h.f.WriteAtContext(h.n.fsys.callCtx(ctx), data, off)
	if err != nil {
		return 0, toErrno(err)
	}
	return uint32(n), 0
}

// Flush runs at every close(2) of a descriptor: a writer commits there, so
// the data is visible to the next open anywhere once close returns.
func (h *fileHandle) Flush(ctx context.Context) syscall.Errno {
	if !h.f.Writable() {
		return 0
	}
	return toErrno(h.f.SyncContext(h.n.fsys.callCtx(ctx)))
}

func (h *fileHandle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return toErrno(h.f.SyncContext(h.n.fsys.callCtx(ctx)))
}

// Release closes the handle. Its data was committed at FLUSH; the handle
// itself is released in the background (client.File.CloseReleaseLater):
// nothing the kernel or another mount sees waits for that command.
func (h *fileHandle) Release(ctx context.Context) syscall.Errno {
	h.n.removeFile(h.f)
	return toErrno(h.f.CloseReleaseLater(h.n.fsys.callCtx(ctx)))
}

func (h *fileHandle) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	return h.n.Getattr(ctx, h, out)
}

func (h *fileHandle) Setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return h.n.Setattr(ctx, h, in, out)
}

// Allocate supports fallocate's plain mode (grow the file; its new bytes
// read as zeros) and FALLOC_FL_KEEP_SIZE (nothing to reserve).
func (h *fileHandle) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	switch mode {
	case fallocKeepSize:
		return 0
	case 0:
	default:
		return syscall.EOPNOTSUPP
	}
	ctx = h.n.fsys.callCtx(ctx)
	a, err := h.f.StatContext(ctx)
	if err != nil {
		return toErrno(err)
	}
	if end := off + size; end > a.GetSize() {
		return toErrno(h.f.TruncateContext(ctx, int64(end)))
	}
	return 0
}

// Lseek answers SEEK_DATA and SEEK_HOLE as for a file without holes.
func (h *fileHandle) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	a, err := h.f.StatContext(h.n.fsys.callCtx(ctx))
	if err != nil {
		return 0, toErrno(err)
	}
	switch {
	case whence == seekData && off < a.GetSize():
		return off, 0
	case whence == seekHole && off <= a.GetSize():
		return a.GetSize(), 0
	case whence == seekData || whence == seekHole:
		return 0, syscall.ENXIO
	}
	return 0, syscall.EINVAL
}
