package client

import (
	"context"
	"errors"
	"os"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Opening files: by path (OpenFile), by inode (OpenIno), by creating
// (CreateAt), or as another handle on an open file's content (Dup); and
// whole-file reads and writes.

// OpenFile opens path (following symlinks) with os.OpenFile's flags:
// O_RDONLY, O_WRONLY or O_RDWR, with O_CREATE (perm is used as given: no
// umask), O_EXCL and O_TRUNC. O_APPEND is recorded but offsets stay
// explicit (WriteAt). Only regular files open.
func (c *Client) OpenFile(ctx context.Context, path string, flag int, perm os.FileMode) (*File, error) {
	if err := checkPath("open", path); err != nil {
		return nil, err
	}
	if flag&os.O_CREATE != 0 {
		// Creating may open an existing file, and the namespace then
		// checks write permission only; a reader looks first.
		if flag&os.O_EXCL != 0 || flag&accMode == os.O_WRONLY {
			return c.createFile(ctx, &pb.Loc{Path: path}, flag, uint32(perm.Perm()))
		}
		attr, err := c.Stat(ctx, path)
		if ErrnoOf(err) == pb.Errno_ENOENT {
			return c.createFile(ctx, &pb.Loc{Path: path}, flag, uint32(perm.Perm()))
		}
		if err != nil {
			return nil, err
		}
		return c.OpenIno(ctx, attr.GetIno(), flag)
	}
	attr, err := c.Stat(ctx, path)
	if err != nil {
		return nil, withOp(err, "open", path)
	}
	f, err := c.OpenIno(ctx, attr.GetIno(), flag)
	return f, withOp(err, "open", path)
}

// OpenIno opens the regular file ino with flag (O_RDONLY, O_WRONLY or
// O_RDWR, and O_TRUNC).
func (c *Client) OpenIno(ctx context.Context, ino uint64, flag int) (*File, error) {
	res, err := c.openHandle(ctx, ino, flag)
	if err != nil {
		return nil, err
	}
	return c.newFile(ctx, newContent(c, res.GetAttr()), res, flag), nil
}

// CreateAt creates the regular file name in parent with permission bits
// mode and opens it with flag, in one command (FUSE create). Without
// O_EXCL an existing file is opened instead (and emptied with O_TRUNC). It
// returns the file's attributes as the command left them.
func (c *Client) CreateAt(ctx context.Context, parent uint64, name string, flag int, mode uint32) (*File, *pb.Attr, error) {
	f, err := c.createFile(ctx, &pb.Loc{Parent: parent, Name: name}, flag, mode)
	if err != nil {
		return nil, nil, err
	}
	return f, f.attr, nil
}

// createFile runs Mknod with open and wraps its handle in a File.
func (c *Client) createFile(ctx context.Context, loc *pb.Loc, flag int, mode uint32) (*File, error) {
	res, err := c.Mutate(ctx, &pb.Command{Op: &pb.Command_Mknod{Mknod: &pb.Mknod{
		Loc: loc, Mode: ModeRegular | mode&0o7777, Exclusive: flag&os.O_EXCL != 0,
		Open: true, Truncate: flag&os.O_TRUNC != 0}}})
	if err != nil {
		return nil, err
	}
	if res.GetAttr().GetMode()&ModeType != ModeRegular {
		c.releaseQuietly(ctx, res.GetHandle())
		return nil, notRegular("create", locString(loc), res.GetAttr())
	}
	return c.newFile(ctx, newContent(c, res.GetAttr()), res, flag), nil
}

// openHandle runs Open for ino and checks that it is a regular file.
func (c *Client) openHandle(ctx context.Context, ino uint64, flag int) (*pb.Result, error) {
	flags := uint32(flag) & (accMode | uint32(os.O_TRUNC) | uint32(os.O_APPEND))
	res, err := c.Mutate(ctx, &pb.Command{Op: &pb.Command_Open{Open: &pb.Open{Ino: ino, Flags: flags}}})
	if err != nil {
		return nil, withOp(err, "open", inoString(ino))
	}
	if res.GetAttr().GetMode()&ModeType != ModeRegular {
		c.releaseQuietly(ctx, res.GetHandle())
		return nil, notRegular("open", inoString(ino), res.GetAttr())
	}
	return res, nil
}

func notRegular(op, what string, a *pb.Attr) error {
	if a.GetMode()&ModeType == ModeDir {
		return &Error{Errno: pb.Errno_EISDIR, Op: op, Path: what, Msg: "is a directory"}
	}
	return &Error{Errno: pb.Errno_EINVAL, Op: op, Path: what, Msg: "not a regular file"}
}

func (c *Client) releaseQuietly(ctx context.Context, handle uint64) {
	if handle != 0 {
		_ = c.Release(context.WithoutCancel(ctx), handle) // the session's end would release it too
	}
}

// newFile wraps an open handle's result in a File sharing cn.
func (c *Client) newFile(ctx context.Context, cn *content, res *pb.Result, flag int) *File {
	f := &File{c: c, ctx: context.WithoutCancel(ctx), ino: res.GetAttr().GetIno(),
		handle: res.GetHandle(), flag: flag, cnt: cn, attr: res.GetAttr()}
	cn.mu.Lock()
	cn.files[f] = true
	cn.mu.Unlock()
	c.holdSession()
	return f
}

// Dup opens ino again with flag, as a new handle sharing f's content: each
// sees the other's unsynced writes, as the handles of one local file do.
// An open that truncates empties the shared content; otherwise, when
// nothing is unsynced, the layout is reloaded on next use so the new handle
// sees what others committed (close-to-open).
func (f *File) Dup(ctx context.Context, flag int) (*File, error) {
	cn := f.cnt
	cn.mu.Lock()
	closed := f.closed
	cn.mu.Unlock()
	if closed {
		return nil, f.fail("dup", pb.Errno_EBADF, "file already closed")
	}
	res, err := f.c.openHandle(ctx, f.ino, flag)
	if err != nil {
		return nil, err
	}
	cn.mu.Lock()
	switch {
	case flag&os.O_TRUNC != 0:
		cn.resetLocked()
	case !cn.dirty:
		cn.loaded = false
	}
	cn.mu.Unlock()
	return f.c.newFile(ctx, cn, res, flag), nil
}

// ReadFile returns the contents of the file at path. It reads the layout
// once and holds no handle, so it costs no command.
func (c *Client) ReadFile(ctx context.Context, path string) ([]byte, error) {
	if err := checkPath("read", path); err != nil {
		return nil, err
	}
	r, err := c.layoutOf(ctx, path)
	if err != nil {
		return nil, err
	}
	cn := newContent(c, r.GetAttr())
	defer cn.stop()
	cn.setLayoutLocked(r.GetAttr().GetSize(), r.GetExtents(), r.GetChunks())
	data := make([]byte, cn.size)
	pieces, err := cn.planLocked(data, 0) // cn is private: no lock needed
	if err == nil {
		err = cn.fetch(ctx, pieces)
	}
	if err != nil {
		return nil, withOp(ioError(ctx, err), "read", path)
	}
	return data, nil
}

// ioError makes err an *Error: a ctx that ended is a timeout (or EIO when
// cancelled), any other failure EIO.
func ioError(ctx context.Context, err error) error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return err
	case ctx.Err() != nil:
		return timeoutError(ctx, nil)
	}
	return &Error{Errno: pb.Errno_EIO, Msg: err.Error()}
}

// layoutOf runs GetLayout for path.
func (c *Client) layoutOf(ctx context.Context, path string) (*pb.GetLayoutReply, error) {
	req := &pb.GetLayoutRequest{Read: c.readOptions(ctx), Path: path}
	reply, err := readReply(c, ctx, "GetLayout", "read", path, func(ctx context.Context, ep *endpoint) (*pb.GetLayoutReply, error) {
		return ep.ns.GetLayout(ctx, req)
	})
	return reply, err
}

// WriteFile replaces the contents of path with data, creating the file
// with perm (used as given) if needed.
func (c *Client) WriteFile(ctx context.Context, path string, data []byte, perm os.FileMode) error {
	f, err := c.OpenFile(ctx, path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := f.WriteAtContext(ctx, data, 0); err != nil {
		_ = f.CloseContext(ctx)
		return err
	}
	return f.CloseContext(ctx)
}
