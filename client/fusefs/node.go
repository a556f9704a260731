package fusefs

import (
	"context"
	"os"
	"slices"
	"sync"
	"syscall"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// node is one inode of the mount. Its number is its namespace ino.
type node struct {
	fs.Inode
	fsys *fileSystem

	mu    sync.Mutex     // guards files; held across opens so they share one content
	files []*client.File // this mount's open handles of the inode

	caps capCache // whether the inode is known to have no security.capability (xattr.go)
	memo attrMemo // the attributes last received, for Access (attr.go)
}

var (
	_ fs.NodeGetattrer = (*node)(nil)
	_ fs.NodeSetattrer = (*node)(nil)
	_ fs.NodeAccesser  = (*node)(nil)
	_ fs.NodeStatfser  = (*node)(nil)
)

func (n *node) ino() uint64 { return n.StableAttr().Ino }

// openFile returns one of this mount's open handles of the inode, or nil.
func (n *node) openFile() *client.File {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.files) == 0 {
		return nil
	}
	return n.files[0]
}

func (n *node) addFile(f *client.File) {
	n.mu.Lock()
	n.files = append(n.files, f)
	n.mu.Unlock()
}

func (n *node) removeFile(f *client.File) {
	n.mu.Lock()
	n.files = slices.DeleteFunc(n.files, func(g *client.File) bool { return g == f })
	n.mu.Unlock()
}

// Getattr reports the inode's attributes; while a handle of this mount has
// unsynced writes, with the size they make.
func (n *node) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	ctx = n.fsys.callCtx(ctx)
	var a *pb.Attr
	var err error
	if h, ok := fh.(*fileHandle); ok {
		a, err = h.f.StatContext(ctx)
	} else if f := n.openFile(); f != nil {
		a, err = f.StatContext(ctx)
	} else {
		a, err = n.fsys.c.GetAttr(ctx, n.ino())
	}
	if err != nil {
		return toErrno(err)
	}
	n.memo.remember(a)
	fillAttr(a, &out.Attr)
	return 0
}

// Setattr changes the size (through the open content when there is one),
// then mode, owner and times in one command, whose result is the reply.
//
// This mount's unsynced writes of the inode came before the attribute
// change, so they are committed with it, in the same command: committed
// after (at FLUSH), they would set mtime to the commit's time and drop
// setuid/setgid, undoing a futimens or a chmod made while the file was
// open (tar sets mtime, owner and mode before it closes each file).
func (n *node) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	ctx = n.fsys.callCtx(ctx)
	if size, ok := in.GetSize(); ok {
		if err := n.truncate(ctx, fh, size); err != nil {
			return toErrno(err)
		}
	}
	sa := setAttrOf(in)
	if sa.Valid == 0 {
		return n.Getattr(ctx, fh, out)
	}
	sa.Ino = n.ino()
	var a *pb.Attr
	var err error
	if f := n.fileFor(fh); f != nil {
		a, err = f.SyncSetAttrContext(ctx, sa)
	} else {
		a, err = n.fsys.c.SetAttr(ctx, sa)
	}
	if err != nil {
		return toErrno(err)
	}
	n.memo.remember(a)
	n.fillAttrOut(fh, a, out)
	return 0
}

// fillAttrOut fills out with a, the inode's attributes as a command left
// them (with the size unsynced writes give it), for the kernel to cache
// for AttrTimeout as it does a GETATTR's.
func (n *node) fillAttrOut(fh fs.FileHandle, a *pb.Attr, out *fuse.AttrOut) {
	fillAttr(a, &out.Attr)
	pendingSize(n.fileFor(fh), &out.Attr)
	out.SetTimeout(n.fsys.opts.AttrTimeout)
}

// fileFor returns fh's file when it is one of this mount's handles, else
// one of the inode's open files, else nil.
func (n *node) fileFor(fh fs.FileHandle) *client.File {
	if h, ok := fh.(*fileHandle); ok {
		return h.f
	}
	return n.openFile()
}

// setAttrOf translates everything but the size of in.
func setAttrOf(in *fuse.SetAttrIn) *pb.SetAttr {
	sa := &pb.SetAttr{}
	if m, ok := in.GetMode(); ok {
		sa.Valid |= client.SetAttrMode
		sa.Mode = m
	}
	if u, ok := in.GetUID(); ok {
		sa.Valid |= client.SetAttrUID
		sa.Uid = u
	}
	if g, ok := in.GetGID(); ok {
		sa.Valid |= client.SetAttrGID
		sa.Gid = g
	}
	switch {
	case in.Valid&fuse.FATTR_ATIME_NOW != 0:
		sa.Valid |= client.SetAttrAtimeNow
	case in.Valid&fuse.FATTR_ATIME != 0:
		sa.Valid |= client.SetAttrAtime
		sa.AtimeNs = int64(in.Atime)*1e9 + int64(in.Atimensec)
	}
	switch {
	case in.Valid&fuse.FATTR_MTIME_NOW != 0:
		sa.Valid |= client.SetAttrMtimeNow
	case in.Valid&fuse.FATTR_MTIME != 0:
		sa.Valid |= client.SetAttrMtime
		sa.MtimeNs = int64(in.Mtime)*1e9 + int64(in.Mtimensec)
	}
	return sa
}

// truncate sets the file's size. With a handle of this mount open, the
// change goes through the shared content (so no handle keeps stale bytes)
// and is committed at once; otherwise it is one SetAttr.
func (n *node) truncate(ctx context.Context, fh fs.FileHandle, size uint64) error {
	if h, ok := fh.(*fileHandle); ok && h.f.Writable() {
		return truncateFile(ctx, h.f, size)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.files) == 0 {
		_, err := n.fsys.c.SetAttr(ctx, &pb.SetAttr{Ino: n.ino(), Valid: client.SetAttrSize, Size: size})
		return err
	}
	// A write handle for the caller, sharing the content: opening it
	// checks the caller's write permission, as truncate(2) needs.
	f, err := n.files[0].Dup(ctx, os.O_WRONLY)
	if err != nil {
		return err
	}
	err = truncateFile(ctx, f, size)
	if cerr := f.CloseReleaseLater(ctx); err == nil {
		err = cerr
	}
	return err
}

func truncateFile(ctx context.Context, f *client.File, size uint64) error {
	if size > 1<<63-1 {
		return syscall.EFBIG
	}
	if err := f.TruncateContext(ctx, int64(size)); err != nil {
		return err
	}
	return f.SyncContext(ctx)
}

// Access checks mask against the inode's permission bits for the caller,
// with the attributes this mount received within AttrTimeout if any.
func (n *node) Access(ctx context.Context, mask uint32) syscall.Errno {
	cr := n.fsys.creds(ctx)
	a := n.memo.recent(n.fsys.opts.AttrTimeout)
	if a == nil {
		var err error
		if a, err = n.fsys.c.GetAttr(n.fsys.callCtx(ctx), n.ino()); err != nil {
			return toErrno(err)
		}
		n.memo.remember(a)
	}
	if !permits(cr, a, mask) {
		return syscall.EACCES
	}
	return 0
}

// permits reports whether cr may access a as mask (R_OK 4, W_OK 2, X_OK 1)
// asks, by the classic owner/group/other bits.
func permits(cr *pb.Creds, a *pb.Attr, mask uint32) bool {
	mask &= 7
	mode := a.GetMode()
	if cr.GetUid() == 0 {
		return mask&1 == 0 || mode&0o111 != 0 || mode&client.ModeType == client.ModeDir
	}
	var bits uint32
	switch {
	case cr.GetUid() == a.GetUid():
		bits = mode >> 6
	case cr.GetGid() == a.GetGid() || slices.Contains(cr.GetGroups(), a.GetGid()):
		bits = mode >> 3
	default:
		bits = mode
	}
	return bits&7&mask == mask
}

// Statfs reports the namespace's counters; capacity is nominal (the blob
// stores set the real limit).
func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	st, err := n.fsys.c.StatFs(n.fsys.callCtx(ctx))
	if err != nil {
		return toErrno(err)
	}
	const bsize, totalBlocks, totalFiles = 4096, 1 << 38, 1 << 40 // 1 PiB, 2^40 inodes
	used := (st.GetBytes() + bsize - 1) / bsize
	*out = fuse.StatfsOut{Bsize: bsize, Frsize: bsize, NameLen: 255,
		Blocks: max(totalBlocks, used), Files: max(totalFiles, st.GetInodes())}
	out.Bfree = out.Blocks - used
	out.Bavail = out.Bfree
	out.Ffree = out.Files - st.GetInodes()
	return 0
}
