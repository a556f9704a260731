package client

import (
	"context"
	"strconv"
	"strings"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// readOptions returns the read barrier of a call made with ctx: SESSION
// carries the highest applied index seen, STALE the allowed staleness.
func (c *Client) readOptions(ctx context.Context) *pb.ReadOptions {
	ro := &pb.ReadOptions{Consistency: c.cfg.Consistency, Creds: c.credsFor(ctx)}
	switch c.cfg.Consistency {
	case pb.Consistency_SESSION:
		ro.MinApplied = c.applied.Load()
	case pb.Consistency_STALE:
		ro.MaxStalenessNs = int64(c.cfg.MaxStaleness)
	}
	return ro
}

// read runs a read RPC and names op and what in its error.
func (c *Client) read(ctx context.Context, method, op, what string, fn rpcFunc) error {
	return withOp(c.invoke(ctx, method, readCall, fn), op, what)
}

// getAttr runs GetAttr with req (its read options filled in).
func (c *Client) getAttr(ctx context.Context, op, what string, req *pb.GetAttrRequest) (*pb.Attr, error) {
	req.Read = c.readOptions(ctx)
	var reply *pb.AttrReply
	err := c.read(ctx, "GetAttr", op, what, func(ctx context.Context, ep *endpoint) (*pb.ReplyMeta, error) {
		r, err := ep.ns.GetAttr(ctx, req)
		reply = r
		return r.GetMeta(), err
	})
	return reply.GetAttr(), err
}

// readDir runs one ReadDir page with req.
func (c *Client) readDir(ctx context.Context, what string, req *pb.ReadDirRequest) (*pb.ReadDirReply, error) {
	req.Read = c.readOptions(ctx)
	var reply *pb.ReadDirReply
	err := c.read(ctx, "ReadDir", "readdir", what, func(ctx context.Context, ep *endpoint) (*pb.ReplyMeta, error) {
		r, err := ep.ns.ReadDir(ctx, req)
		reply = r
		return r.GetMeta(), err
	})
	return reply, err
}

// readLink runs ReadLink with req.
func (c *Client) readLink(ctx context.Context, what string, req *pb.ReadLinkRequest) (string, error) {
	req.Read = c.readOptions(ctx)
	var reply *pb.ReadLinkReply
	err := c.read(ctx, "ReadLink", "readlink", what, func(ctx context.Context, ep *endpoint) (*pb.ReplyMeta, error) {
		r, err := ep.ns.ReadLink(ctx, req)
		reply = r
		return r.GetMeta(), err
	})
	return reply.GetTarget(), err
}

// StatFs returns the namespace's counters.
func (c *Client) StatFs(ctx context.Context) (*pb.StatFsReply, error) {
	req := &pb.StatFsRequest{Read: c.readOptions(ctx)}
	var reply *pb.StatFsReply
	err := c.read(ctx, "StatFs", "statfs", "", func(ctx context.Context, ep *endpoint) (*pb.ReplyMeta, error) {
		r, err := ep.ns.StatFs(ctx, req)
		reply = r
		return r.GetMeta(), err
	})
	return reply, err
}

// checkPath rejects a path the server cannot resolve, before any RPC.
func checkPath(op, path string) error {
	if !strings.HasPrefix(path, "/") {
		return &Error{Errno: pb.Errno_EINVAL, Op: op, Path: path, Msg: "path must be absolute"}
	}
	return nil
}

// inoString names an inode in errors.
func inoString(ino uint64) string { return "ino " + strconv.FormatUint(ino, 10) }
