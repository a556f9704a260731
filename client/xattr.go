package client

import (
	"context"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Extended attributes, by path (path API) or by inode (…At). A path, when
// given, wins over the inode.

// GetXattr returns the value of the attribute name of path.
func (c *Client) GetXattr(ctx context.Context, path, name string) ([]byte, error) {
	if err := checkPath("getxattr", path); err != nil {
		return nil, err
	}
	return c.getXattr(ctx, path, &pb.XattrRequest{Path: path, Name: name})
}

// GetXattrAt returns the value of the attribute name of ino.
func (c *Client) GetXattrAt(ctx context.Context, ino uint64, name string) ([]byte, error) {
	return c.getXattr(ctx, inoString(ino), &pb.XattrRequest{Ino: ino, Name: name})
}

// ListXattr returns the attribute names of path.
func (c *Client) ListXattr(ctx context.Context, path string) ([]string, error) {
	if err := checkPath("listxattr", path); err != nil {
		return nil, err
	}
	return c.listXattr(ctx, path, &pb.XattrRequest{Path: path})
}

// ListXattrAt returns the attribute names of ino.
func (c *Client) ListXattrAt(ctx context.Context, ino uint64) ([]string, error) {
	return c.listXattr(ctx, inoString(ino), &pb.XattrRequest{Ino: ino})
}

// SetXattr sets the attribute name of path; flags are XattrCreate or
// XattrReplace.
func (c *Client) SetXattr(ctx context.Context, path, name string, value []byte, flags uint32) error {
	_, err := c.mutatePath(ctx, "setxattr", path, &pb.Command{Op: &pb.Command_SetXattr{SetXattr: &pb.SetXattr{
		Path: path, Name: name, Value: value, Flags: flags}}})
	return err
}

// SetXattrAt sets the attribute name of ino.
func (c *Client) SetXattrAt(ctx context.Context, ino uint64, name string, value []byte, flags uint32) error {
	_, err := c.Mutate(ctx, &pb.Command{Op: &pb.Command_SetXattr{SetXattr: &pb.SetXattr{
		Ino: ino, Name: name, Value: value, Flags: flags}}})
	return withOp(err, "setxattr", inoString(ino))
}

// RemoveXattr removes the attribute name of path.
func (c *Client) RemoveXattr(ctx context.Context, path, name string) error {
	_, err := c.mutatePath(ctx, "removexattr", path, &pb.Command{Op: &pb.Command_RemoveXattr{
		RemoveXattr: &pb.RemoveXattr{Path: path, Name: name}}})
	return err
}

// RemoveXattrAt removes the attribute name of ino.
func (c *Client) RemoveXattrAt(ctx context.Context, ino uint64, name string) error {
	_, err := c.Mutate(ctx, &pb.Command{Op: &pb.Command_RemoveXattr{
		RemoveXattr: &pb.RemoveXattr{Ino: ino, Name: name}}})
	return withOp(err, "removexattr", inoString(ino))
}

func (c *Client) getXattr(ctx context.Context, what string, req *pb.XattrRequest) ([]byte, error) {
	req.Read = c.readOptions(ctx)
	reply, err := readReply(c, ctx, "GetXattr", "getxattr", what, func(ctx context.Context, ep *endpoint) (*pb.XattrReply, error) {
		return ep.ns.GetXattr(ctx, req)
	})
	return reply.GetValue(), err
}

func (c *Client) listXattr(ctx context.Context, what string, req *pb.XattrRequest) ([]string, error) {
	req.Read = c.readOptions(ctx)
	reply, err := readReply(c, ctx, "ListXattr", "listxattr", what, func(ctx context.Context, ep *endpoint) (*pb.XattrReply, error) {
		return ep.ns.ListXattr(ctx, req)
	})
	return reply.GetNames(), err
}
