package fusefs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"syscall"

	"github.com/geomds/geomds/client"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Directory operations: each is one client call on (parent ino, name).

var (
	_ fs.NodeLookuper   = (*node)(nil)
	_ fs.NodeMkdirer    = (*node)(nil)
	_ fs.NodeMknoder    = (*node)(nil)
	_ fs.NodeCreater    = (*node)(nil)
	_ fs.NodeTmpfiler   = (*node)(nil)
	_ fs.NodeUnlinker   = (*node)(nil)
	_ fs.NodeRmdirer    = (*node)(nil)
	_ fs.NodeRenamer    = (*node)(nil)
	_ fs.NodeLinker     = (*node)(nil)
	_ fs.NodeSymlinker  = (*node)(nil)
	_ fs.NodeReadlinker = (*node)(nil)
)

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	a, err := n.fsys.c.Lookup(n.fsys.callCtx(ctx), n.ino(), name)
	if err != nil {
		return nil, toErrno(err)
	}
	return n.child(ctx, a, out), 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	a, err := n.fsys.c.MkdirAt(n.fsys.callCtx(ctx), n.ino(), name, mode&0o7777)
	if err != nil {
		return nil, toErrno(err)
	}
	return n.newChild(ctx, a, out), 0
}

func (n *node) Mknod(ctx context.Context, name string, mode, dev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	res, err := n.fsys.c.MknodAt(n.fsys.callCtx(ctx), n.ino(), name, mode, uint64(dev), true, false)
	if err != nil {
		return nil, toErrno(err)
	}
	return n.newChild(ctx, res.GetAttr(), out), 0
}

// Create creates and opens a regular file in one command. Without O_EXCL
// it may open a file that already existed, so only an exclusive create
// tells the inode is new.
func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	f, a, err := n.fsys.c.CreateAt(n.fsys.callCtx(ctx), n.ino(), name, int(flags), mode&0o7777)
	if err != nil {
		return nil, nil, 0, toErrno(err)
	}
	in := n.child(ctx, a, out)
	if flags&syscall.O_EXCL != 0 {
		nodeOf(in).markNew()
	}
	return in, newFileHandle(nodeOf(in), f), 0, 0
}

// Tmpfile makes an O_TMPFILE file as a create under a random hidden name
// and an unlink; the open handle keeps the inode.
func (n *node) Tmpfile(ctx context.Context, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	cctx := n.fsys.callCtx(ctx)
	var b [12]byte
	_, _ = rand.Read(b[:])
	name := ".geomds-tmpfile-" + hex.EncodeToString(b[:])
	f, a, err := n.fsys.c.CreateAt(cctx, n.ino(), name, int(flags)|syscall.O_EXCL, mode&0o7777)
	if err != nil {
		return nil, nil, 0, toErrno(err)
	}
	if err := n.fsys.c.UnlinkAt(cctx, n.ino(), name); err != nil {
		_ = f.CloseContext(cctx)
		return nil, nil, 0, toErrno(err)
	}
	in := n.newChild(ctx, a, out)
	out.Attr.Nlink = 0
	return in, newFileHandle(nodeOf(in), f), 0, 0
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	return toErrno(n.fsys.c.UnlinkAt(n.fsys.callCtx(ctx), n.ino(), name))
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	return toErrno(n.fsys.c.RmdirAt(n.fsys.callCtx(ctx), n.ino(), name))
}

// Rename supports renameat2's RENAME_NOREPLACE and RENAME_EXCHANGE.
func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if flags&^(client.RenameNoReplace|client.RenameExchange) != 0 {
		return syscall.EINVAL // RENAME_WHITEOUT: no overlay support
	}
	to := newParent.EmbeddedInode().StableAttr().Ino
	return toErrno(n.fsys.c.RenameAt(n.fsys.callCtx(ctx), n.ino(), name, to, newName, flags))
}

func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ino := target.EmbeddedInode().StableAttr().Ino
	a, err := n.fsys.c.LinkAt(n.fsys.callCtx(ctx), ino, n.ino(), name)
	if err != nil {
		return nil, toErrno(err)
	}
	return n.child(ctx, a, out), 0
}

func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	a, err := n.fsys.c.SymlinkAt(n.fsys.callCtx(ctx), n.ino(), name, target)
	if err != nil {
		return nil, toErrno(err)
	}
	return n.newChild(ctx, a, out), 0
}

func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	target, err := n.fsys.c.ReadLinkAt(n.fsys.callCtx(ctx), n.ino())
	if err != nil {
		return nil, toErrno(err)
	}
	return []byte(target), 0
}
