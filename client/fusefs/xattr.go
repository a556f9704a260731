package fusefs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
)

// Extended attributes, by inode. Sizes follow getxattr(2): an empty dest
// asks for the size, a short one is ERANGE.

var (
	_ fs.NodeGetxattrer    = (*node)(nil)
	_ fs.NodeSetxattrer    = (*node)(nil)
	_ fs.NodeListxattrer   = (*node)(nil)
	_ fs.NodeRemovexattrer = (*node)(nil)
)

func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	v, err := n.fsys.c.GetXattrAt(n.fsys.callCtx(ctx), n.ino(), attr)
	if err != nil {
		return 0, toErrno(err)
	}
	return fit(dest, v)
}

func (n *node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	names, err := n.fsys.c.ListXattrAt(n.fsys.callCtx(ctx), n.ino())
	if err != nil {
		return 0, toErrno(err)
	}
	var buf []byte
	for _, name := range names {
		buf = append(append(buf, name...), 0)
	}
	return fit(dest, buf)
}

func (n *node) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return toErrno(n.fsys.c.SetXattrAt(n.fsys.callCtx(ctx), n.ino(), attr, data, flags))
}

func (n *node) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return toErrno(n.fsys.c.RemoveXattrAt(n.fsys.callCtx(ctx), n.ino(), attr))
}

// fit copies v into dest, or reports the size needed.
func fit(dest, v []byte) (uint32, syscall.Errno) {
	switch {
	case len(dest) == 0:
		return uint32(len(v)), 0
	case len(dest) < len(v):
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}
