package client

import (
	"context"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// The inode API, for the FUSE layer: dentries are (parent ino, name).

// Lookup returns the attributes of name in the directory parent.
func (c *Client) Lookup(ctx context.Context, parent uint64, name string) (*pb.Attr, error) {
	req := &pb.LookupRequest{Read: c.readOptions(ctx), Parent: parent, Name: name}
	reply, err := readReply(c, ctx, "Lookup", "lookup", name, func(ctx context.Context, ep *endpoint) (*pb.AttrReply, error) {
		return ep.ns.Lookup(ctx, req)
	})
	return reply.GetAttr(), err
}

// GetAttr returns the attributes of ino.
func (c *Client) GetAttr(ctx context.Context, ino uint64) (*pb.Attr, error) {
	return c.getAttr(ctx, "getattr", inoString(ino), &pb.GetAttrRequest{Ino: ino})
}

// ReadDirAt returns one page of the directory ino after cursor ("" = from
// the start; limit 0 = server default), the cursor of the next page, and
// whether this page is the last.
func (c *Client) ReadDirAt(ctx context.Context, ino uint64, cursor string, limit int, plus bool) ([]*pb.DirEntry, string, bool, error) {
	reply, err := c.readDir(ctx, inoString(ino), &pb.ReadDirRequest{
		Ino: ino, Cursor: cursor, Limit: uint32(max(limit, 0)), Plus: plus})
	if err != nil {
		return nil, "", false, err
	}
	return reply.GetEntries(), nextCursor(reply), reply.GetEof(), nil
}

// ReadLinkAt returns the target of the symlink ino.
func (c *Client) ReadLinkAt(ctx context.Context, ino uint64) (string, error) {
	return c.readLink(ctx, inoString(ino), &pb.ReadLinkRequest{Ino: ino})
}

// GetLayout returns a file's attributes, extents and the chunks they use.
func (c *Client) GetLayout(ctx context.Context, ino uint64) (*pb.GetLayoutReply, error) {
	req := &pb.GetLayoutRequest{Read: c.readOptions(ctx), Ino: ino}
	reply, err := readReply(c, ctx, "GetLayout", "getlayout", inoString(ino), func(ctx context.Context, ep *endpoint) (*pb.GetLayoutReply, error) {
		return ep.ns.GetLayout(ctx, req)
	})
	return reply, err
}

// SetAttr changes the attributes selected by sa.Valid (SetAttr* bits) and
// returns the new attributes.
func (c *Client) SetAttr(ctx context.Context, sa *pb.SetAttr) (*pb.Attr, error) {
	res, err := c.Mutate(ctx, &pb.Command{Op: &pb.Command_SetAttr{SetAttr: sa}})
	return res.GetAttr(), err
}

// MkdirAt creates the directory name in parent.
func (c *Client) MkdirAt(ctx context.Context, parent uint64, name string, mode uint32) (*pb.Attr, error) {
	res, err := c.Mutate(ctx, &pb.Command{Op: &pb.Command_Mkdir{
		Mkdir: &pb.Mkdir{Loc: &pb.Loc{Parent: parent, Name: name}, Mode: mode}}})
	return res.GetAttr(), err
}

// MknodAt creates name in parent with the type and permissions in mode. With
// open, a handle is opened in the same command (Result.Handle).
func (c *Client) MknodAt(ctx context.Context, parent uint64, name string, mode uint32, rdev uint64, exclusive, open bool) (*pb.Result, error) {
	return c.Mutate(ctx, &pb.Command{Op: &pb.Command_Mknod{Mknod: &pb.Mknod{
		Loc: &pb.Loc{Parent: parent, Name: name}, Mode: mode, Rdev: rdev, Exclusive: exclusive, Open: open}}})
}

// UnlinkAt removes the non-directory name from parent.
func (c *Client) UnlinkAt(ctx context.Context, parent uint64, name string) error {
	_, err := c.Mutate(ctx, &pb.Command{Op: &pb.Command_Unlink{Unlink: &pb.Unlink{Loc: &pb.Loc{Parent: parent, Name: name}}}})
	return err
}

// RmdirAt removes the empty directory name from parent.
func (c *Client) RmdirAt(ctx context.Context, parent uint64, name string) error {
	_, err := c.Mutate(ctx, &pb.Command{Op: &pb.Command_Rmdir{Rmdir: &pb.Rmdir{Loc: &pb.Loc{Parent: parent, Name: name}}}})
	return err
}

// SymlinkAt creates the symlink name in parent pointing to target.
func (c *Client) SymlinkAt(ctx context.Context, parent uint64, name, target string) (*pb.Attr, error) {
	res, err := c.Mutate(ctx, &pb.Command{Op: &pb.Command_Symlink{Symlink: &pb.Symlink{
		Loc: &pb.Loc{Parent: parent, Name: name}, Target: target}}})
	return res.GetAttr(), err
}

// LinkAt creates newName in newParent as a hard link to ino.
func (c *Client) LinkAt(ctx context.Context, ino, newParent uint64, newName string) (*pb.Attr, error) {
	res, err := c.Mutate(ctx, &pb.Command{Op: &pb.Command_Link{Link: &pb.Link{
		Ino: ino, NewLoc: &pb.Loc{Parent: newParent, Name: newName}}}})
	return res.GetAttr(), err
}

// RenameAt moves oldName in oldParent to newName in newParent; flags are
// RenameNoReplace or RenameExchange.
func (c *Client) RenameAt(ctx context.Context, oldParent uint64, oldName string, newParent uint64, newName string, flags uint32) error {
	_, err := c.Mutate(ctx, &pb.Command{Op: &pb.Command_Rename{Rename: &pb.Rename{
		From: &pb.Loc{Parent: oldParent, Name: oldName},
		To:   &pb.Loc{Parent: newParent, Name: newName}, Flags: flags}}})
	return err
}
