package client

import (
	"context"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// The path API: the server resolves absolute paths, so each call is one RPC.

// Stat returns the attributes of path, following a final symlink.
func (c *Client) Stat(ctx context.Context, path string) (*pb.Attr, error) {
	if err := checkPath("stat", path); err != nil {
		return nil, err
	}
	return c.getAttr(ctx, "stat", path, &pb.GetAttrRequest{Path: path})
}

// Lstat returns the attributes of path without following a final symlink.
func (c *Client) Lstat(ctx context.Context, path string) (*pb.Attr, error) {
	if err := checkPath("lstat", path); err != nil {
		return nil, err
	}
	return c.getAttr(ctx, "lstat", path, &pb.GetAttrRequest{Path: path, Nofollow: true})
}

// ReadDir returns every entry of the directory path with attributes,
// fetching page after page.
func (c *Client) ReadDir(ctx context.Context, path string) ([]*pb.DirEntry, error) {
	if err := checkPath("readdir", path); err != nil {
		return nil, err
	}
	var all []*pb.DirEntry
	cursor := ""
	for {
		reply, err := c.readDir(ctx, path, &pb.ReadDirRequest{Path: path, Cursor: cursor, Plus: true})
		if err != nil {
			return nil, err
		}
		all = append(all, reply.GetEntries()...)
		cursor = nextCursor(reply)
		if reply.GetEof() || cursor == "" {
			return all, nil
		}
	}
}

// nextCursor is where the page after reply starts: the server's cursor,
// else the last name it returned.
func nextCursor(reply *pb.ReadDirReply) string {
	if reply.GetNextCursor() != "" {
		return reply.GetNextCursor()
	}
	if n := len(reply.GetEntries()); n > 0 {
		return reply.GetEntries()[n-1].GetName()
	}
	return ""
}

// ReadLink returns the target of the symlink path.
func (c *Client) ReadLink(ctx context.Context, path string) (string, error) {
	if err := checkPath("readlink", path); err != nil {
		return "", err
	}
	return c.readLink(ctx, path, &pb.ReadLinkRequest{Path: path})
}

// mutatePath checks path and runs the command.
func (c *Client) mutatePath(ctx context.Context, op, path string, cmd *pb.Command) (*pb.Result, error) {
	if err := checkPath(op, path); err != nil {
		return nil, err
	}
	return c.Mutate(ctx, cmd)
}

// Mkdir creates the directory path with permission bits mode (the caller
// applies its umask).
func (c *Client) Mkdir(ctx context.Context, path string, mode uint32) (*pb.Attr, error) {
	res, err := c.mutatePath(ctx, "mkdir", path, &pb.Command{Op: &pb.Command_Mkdir{
		Mkdir: &pb.Mkdir{Loc: &pb.Loc{Path: path}, Mode: mode}}})
	return res.GetAttr(), err
}

// MkdirAll creates path and every missing parent, as mkdir -p.
func (c *Client) MkdirAll(ctx context.Context, path string, mode uint32) error {
	_, err := c.mutatePath(ctx, "mkdir", path, &pb.Command{Op: &pb.Command_MkdirAll{
		MkdirAll: &pb.MkdirAll{Path: path, Mode: mode}}})
	return err
}

// Create creates a regular file (or the type in mode's S_IFMT bits). An
// existing file is returned unless exclusive, which makes it EEXIST.
func (c *Client) Create(ctx context.Context, path string, mode uint32, exclusive bool) (*pb.Attr, error) {
	if mode&ModeType == 0 {
		mode |= ModeRegular
	}
	res, err := c.mutatePath(ctx, "create", path, &pb.Command{Op: &pb.Command_Mknod{
		Mknod: &pb.Mknod{Loc: &pb.Loc{Path: path}, Mode: mode, Exclusive: exclusive}}})
	return res.GetAttr(), err
}

// Remove removes a file, or an empty directory (rmdir after unlink said
// EISDIR).
func (c *Client) Remove(ctx context.Context, path string) error {
	loc := &pb.Loc{Path: path}
	_, err := c.mutatePath(ctx, "remove", path, &pb.Command{Op: &pb.Command_Unlink{Unlink: &pb.Unlink{Loc: loc}}})
	if ErrnoOf(err) == pb.Errno_EISDIR {
		_, err = c.Mutate(ctx, &pb.Command{Op: &pb.Command_Rmdir{Rmdir: &pb.Rmdir{Loc: loc}}})
	}
	return withOp(err, "remove", path)
}

// removeAllPart is the most entries one RemoveAll command removes (the
// namespace's cap): tens of milliseconds of apply on each replica.
const removeAllPart = 1024

// RemoveAll removes path and everything under it, as RemoveTree does; like
// os.RemoveAll, a path that does not exist is no error.
func (c *Client) RemoveAll(ctx context.Context, path string) error {
	if err := c.RemoveTree(ctx, path); ErrnoOf(err) != pb.Errno_ENOENT {
		return err
	}
	return nil
}

// RemoveTree removes path and everything under it, as rm -r: a path that
// does not exist is ENOENT. A tree of more than removeAllPart entries goes
// in several commands, deepest entries first, so that no one command holds
// up the cluster; a failure partway leaves what was not yet removed, and a
// path someone else removed meanwhile is no error. A cluster with a member
// of a version before bounded removals gets the whole tree in one command.
func (c *Client) RemoveTree(ctx context.Context, path string) error {
	return c.RemoveTreeProgress(ctx, path, nil)
}

// RemoveTreeProgress is RemoveTree, calling removed (when not nil) with
// the entries each part removed before the last: a part that leaves
// entries behind removed a full part's worth.
func (c *Client) RemoveTreeProgress(ctx context.Context, path string, removed func(entries int)) error {
	op := &pb.RemoveAll{Path: path, MaxEntries: removeAllPart}
	some := false // some part was removed
	for {
		res, err := c.mutatePath(ctx, "remove", path, &pb.Command{Op: &pb.Command_RemoveAll{RemoveAll: op}})
		switch {
		case ErrnoOf(err) == pb.Errno_ENOTSUP && op.MaxEntries != 0:
			op = &pb.RemoveAll{Path: path}
			continue
		case ErrnoOf(err) == pb.Errno_ENOENT && some:
			return nil
		case err != nil || !res.GetMore():
			return err
		}
		some = true
		if removed != nil {
			removed(int(op.GetMaxEntries()))
		}
	}
}

// Rename moves from to to; flags are RenameNoReplace or RenameExchange.
func (c *Client) Rename(ctx context.Context, from, to string, flags uint32) error {
	if err := checkPath("rename", to); err != nil {
		return err
	}
	_, err := c.mutatePath(ctx, "rename", from, &pb.Command{Op: &pb.Command_Rename{Rename: &pb.Rename{
		From: &pb.Loc{Path: from}, To: &pb.Loc{Path: to}, Flags: flags}}})
	return err
}

// Symlink creates the symlink path pointing to target.
func (c *Client) Symlink(ctx context.Context, target, path string) error {
	_, err := c.mutatePath(ctx, "symlink", path, &pb.Command{Op: &pb.Command_Symlink{
		Symlink: &pb.Symlink{Loc: &pb.Loc{Path: path}, Target: target}}})
	return err
}

// Link creates newpath as a hard link to oldpath.
func (c *Client) Link(ctx context.Context, oldpath, newpath string) error {
	if err := checkPath("link", oldpath); err != nil {
		return err
	}
	_, err := c.mutatePath(ctx, "link", newpath, &pb.Command{Op: &pb.Command_Link{
		Link: &pb.Link{Path: oldpath, NewLoc: &pb.Loc{Path: newpath}}}})
	return err
}

// setAttrPath changes the attributes of path selected by valid.
func (c *Client) setAttrPath(ctx context.Context, op, path string, sa *pb.SetAttr) error {
	sa.Path = path
	_, err := c.mutatePath(ctx, op, path, &pb.Command{Op: &pb.Command_SetAttr{SetAttr: sa}})
	return withOp(err, op, path)
}

// Chmod sets the permission bits of path.
func (c *Client) Chmod(ctx context.Context, path string, mode uint32) error {
	return c.setAttrPath(ctx, "chmod", path, &pb.SetAttr{Valid: SetAttrMode, Mode: mode})
}

// Chown sets the owner and group of path; -1 leaves one unchanged.
func (c *Client) Chown(ctx context.Context, path string, uid, gid int) error {
	sa := &pb.SetAttr{}
	if uid >= 0 {
		sa.Valid |= SetAttrUID
		sa.Uid = uint32(uid)
	}
	if gid >= 0 {
		sa.Valid |= SetAttrGID
		sa.Gid = uint32(gid)
	}
	return c.setAttrPath(ctx, "chown", path, sa)
}

// Chtimes sets the access and modification times of path; a zero time
// leaves that one unchanged.
func (c *Client) Chtimes(ctx context.Context, path string, atime, mtime time.Time) error {
	sa := &pb.SetAttr{}
	if !atime.IsZero() {
		sa.Valid |= SetAttrAtime
		sa.AtimeNs = atime.UnixNano()
	}
	if !mtime.IsZero() {
		sa.Valid |= SetAttrMtime
		sa.MtimeNs = mtime.UnixNano()
	}
	return c.setAttrPath(ctx, "chtimes", path, sa)
}
