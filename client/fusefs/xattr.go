package fusefs

import (
	"context"
	"slices"
	"sync"
	"syscall"
	"time"

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

// capabilityXattr holds a file's capabilities. The kernel reads it before
// every write, truncate and chown of a file, to remove it if present (a
// changed file must not keep its capabilities). FUSE_HANDLE_KILLPRIV_V2
// would stop most of those reads, but it makes removing it the server's
// job, which the namespace does not do (see docs/POSIX.md). So the mount
// answers the read itself while it knows the inode has none: see capCache.
const capabilityXattr = "security.capability"

// capCache remembers, for one inode, that it has no security.capability:
// because this mount created it (a new inode has no xattrs), or because a
// Getxattr or Listxattr said so. The knowledge lasts AttrTimeout, the
// staleness the kernel already allows for the inode's mode and owner; this
// mount's own Setxattr or Removexattr of the name forgets it at once.
type capCache struct {
	mu    sync.Mutex
	gen   uint64    // bumped by every forget, so an answer read before it is not kept
	until time.Time // known to have none until then
}

// absent reports whether the inode is known to have no capabilities now.
func (cc *capCache) absent() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return time.Now().Before(cc.until)
}

// generation returns the generation to pass to mark once a read answers.
func (cc *capCache) generation() uint64 {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.gen
}

// mark records that the inode has no capabilities, for ttl, unless a
// forget came after gen was taken.
func (cc *capCache) mark(gen uint64, ttl time.Duration) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if gen == cc.gen && ttl > 0 {
		cc.until = time.Now().Add(ttl)
	}
}

func (cc *capCache) forget() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.gen++
	cc.until = time.Time{}
}

// markNew records that this mount just created the inode.
func (n *node) markNew() { n.caps.mark(n.caps.generation(), n.fsys.opts.AttrTimeout) }

func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	isCap := attr == capabilityXattr
	if isCap && n.caps.absent() {
		return 0, syscall.ENODATA
	}
	gen := n.caps.generation()
	v, err := n.fsys.c.GetXattrAt(n.fsys.callCtx(ctx), n.ino(), attr)
	if err != nil {
		errno := toErrno(err)
		if isCap && errno == syscall.ENODATA {
			n.caps.mark(gen, n.fsys.opts.AttrTimeout)
		}
		return 0, errno
	}
	return fit(dest, v)
}

func (n *node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	gen := n.caps.generation()
	names, err := n.fsys.c.ListXattrAt(n.fsys.callCtx(ctx), n.ino())
	if err != nil {
		return 0, toErrno(err)
	}
	if !slices.Contains(names, capabilityXattr) {
		n.caps.mark(gen, n.fsys.opts.AttrTimeout)
	}
	var buf []byte
	for _, name := range names {
		buf = append(append(buf, name...), 0)
	}
	return fit(dest, buf)
}

// Setxattr and Removexattr of security.capability forget what capCache
// knew, before the command (so no concurrent read can trust it) and after
// it (so no read that raced the command can record a stale answer).
func (n *node) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	if attr == capabilityXattr {
		n.caps.forget()
		defer n.caps.forget()
	}
	return toErrno(n.fsys.c.SetXattrAt(n.fsys.callCtx(ctx), n.ino(), attr, data, flags))
}

func (n *node) Removexattr(ctx context.Context, attr string) syscall.Errno {
	if attr == capabilityXattr {
		n.caps.forget()
		defer n.caps.forget()
	}
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
