package fusefs

import (
	"context"
	"sync"
	"syscall"
	"time"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// fillAttr copies a's attributes into out.
func fillAttr(a *pb.Attr, out *fuse.Attr) {
	out.Ino = a.GetIno()
	out.Size = a.GetSize()
	out.Blocks = (a.GetSize() + 511) / 512
	out.Blksize = 4096
	out.Mode = a.GetMode()
	out.Nlink = a.GetNlink()
	out.Uid, out.Gid = a.GetUid(), a.GetGid()
	out.Rdev = uint32(a.GetRdev())
	at, mt, ct := nsTime(a.GetAtimeNs()), nsTime(a.GetMtimeNs()), nsTime(a.GetCtimeNs())
	out.SetTimes(&at, &mt, &ct)
}

func nsTime(ns int64) time.Time { return time.Unix(0, ns) }

// stableAttr is the identity go-fuse keys inodes by.
func stableAttr(a *pb.Attr) fs.StableAttr {
	return fs.StableAttr{Mode: a.GetMode() & syscall.S_IFMT, Ino: a.GetIno(), Gen: a.GetGeneration()}
}

// child returns the inode for a (the known one when the kernel already has
// it) and fills out with a's attributes; a file this mount is writing keeps
// the size its unsynced writes gave it, or the kernel would cut its cache.
func (n *node) child(ctx context.Context, a *pb.Attr, out *fuse.EntryOut) *fs.Inode {
	fillAttr(a, &out.Attr)
	in := n.NewInode(ctx, &node{fsys: n.fsys}, stableAttr(a))
	c := nodeOf(in)
	c.memo.remember(a)
	pendingSize(c.openFile(), &out.Attr)
	return in
}

// pendingSize gives out the size f's unsynced writes make, if any (f may
// be nil).
func pendingSize(f *client.File, out *fuse.Attr) {
	if f == nil {
		return
	}
	if size, dirty := f.PendingSize(); dirty {
		out.Size = uint64(size)
		out.Blocks = (out.Size + 511) / 512
	}
}

// attrMemo is an inode's attributes as this mount last received them.
// Access answers from it while it is no older than AttrTimeout: the
// staleness the kernel allows its own attribute cache.
type attrMemo struct {
	mu sync.Mutex
	a  *pb.Attr
	at time.Time
}

func (m *attrMemo) remember(a *pb.Attr) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.a, m.at = a, time.Now()
}

func (m *attrMemo) forget() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.a = nil
}

// recent returns the attributes if they are younger than ttl, else nil.
func (m *attrMemo) recent(ttl time.Duration) *pb.Attr {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.a == nil || time.Since(m.at) >= ttl {
		return nil
	}
	return m.a
}

// newChild is child for an inode the call just created: it has no
// xattrs, so the kernel's security.capability reads need no round trip.
func (n *node) newChild(ctx context.Context, a *pb.Attr, out *fuse.EntryOut) *fs.Inode {
	in := n.child(ctx, a, out)
	nodeOf(in).markNew()
	return in
}

// nodeOf returns the node behind a go-fuse inode.
func nodeOf(in *fs.Inode) *node { return in.Operations().(*node) }
