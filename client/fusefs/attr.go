package fusefs

import (
	"context"
	"syscall"
	"time"

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
	if f := nodeOf(in).openFile(); f != nil {
		if size, ok := f.PendingSize(); ok {
			out.Attr.Size = uint64(size)
			out.Attr.Blocks = (out.Attr.Size + 511) / 512
		}
	}
	return in
}

// nodeOf returns the node behind a go-fuse inode.
func nodeOf(in *fs.Inode) *node { return in.Operations().(*node) }
