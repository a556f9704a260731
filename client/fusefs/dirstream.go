package fusefs

import (
	"context"
	"sync"
	"syscall"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// dirHandle lists a directory page by page (with attributes, so
// READDIRPLUS needs no lookups). It keeps what it read, so a seek back
// (telldir/seekdir) replays the same entries; a rewind to 0 starts a fresh
// listing. Entry offsets are positions in that listing, from 1.
type dirHandle struct {
	n *node

	mu      sync.Mutex
	entries []*pb.DirEntry // read so far
	pos     int            // index of the next entry to return
	cursor  string         // where the next page starts
	eof     bool
}

var (
	_ fs.NodeOpendirHandler = (*node)(nil)
	_ fs.FileReaddirenter   = (*dirHandle)(nil)
	_ fs.FileLookuper       = (*dirHandle)(nil)
	_ fs.FileSeekdirer      = (*dirHandle)(nil)
	_ fs.FileReleasedirer   = (*dirHandle)(nil)
	_ fs.FileFsyncdirer     = (*dirHandle)(nil)
)

// OpendirHandle opens a directory for listing; the first page is read
// on the first READDIR.
func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if n.StableAttr().Mode != syscall.S_IFDIR {
		return nil, 0, syscall.ENOTDIR
	}
	return &dirHandle{n: n}, 0, 0
}

func (d *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.fillLocked(ctx, d.pos+1); err != nil {
		return nil, toErrno(err)
	}
	if d.pos >= len(d.entries) {
		return nil, 0
	}
	e := d.entries[d.pos]
	d.pos++
	return &fuse.DirEntry{Name: e.GetName(), Ino: e.GetIno(), Mode: e.GetMode(), Off: uint64(d.pos)}, 0
}

// fillLocked reads pages until n entries are known or the listing ends.
func (d *dirHandle) fillLocked(ctx context.Context, n int) error {
	fsys := d.n.fsys
	for len(d.entries) < n && !d.eof {
		page, next, eof, err := fsys.c.ReadDirAt(fsys.callCtx(ctx), d.n.ino(), d.cursor, 0, true)
		if err != nil {
			return err
		}
		d.entries = append(d.entries, page...)
		d.cursor, d.eof = next, eof || next == "" || len(page) == 0
	}
	return nil
}

func (d *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	d.mu.Lock()
	defer d.mu.Unlock()
	if off == 0 {
		d.entries, d.cursor, d.eof = nil, "", false
	}
	if err := d.fillLocked(ctx, int(off)); err != nil {
		return toErrno(err)
	}
	d.pos = min(int(off), len(d.entries))
	return 0
}

// Lookup answers READDIRPLUS for the entry just returned, from the
// attributes the listing carried.
func (d *dirHandle) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	d.mu.Lock()
	var a *pb.Attr
	if d.pos > 0 && d.entries[d.pos-1].GetName() == name {
		a = d.entries[d.pos-1].GetAttr()
	}
	d.mu.Unlock()
	if a == nil {
		return d.n.Lookup(ctx, name, out)
	}
	return d.n.child(ctx, a, out), 0
}

func (d *dirHandle) Releasedir(ctx context.Context, releaseFlags uint32) {}

// Fsyncdir has nothing to do: directory changes are committed when made.
func (d *dirHandle) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno { return 0 }
