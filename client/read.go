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

// metaReply is every reply that says who served it.
type metaReply interface{ GetMeta() *pb.ReplyMeta }

// readReply runs a read RPC through read and returns its reply (nil on
// error; the proto getters on it are nil-safe).
func readReply[R metaReply](c *Client, ctx context.Context, method, op, what string,
	rpc func(context.Context, *endpoint) (R, error)) (R, error) {
	var reply R
	err := c.read(ctx, method, op, what, func(ctx context.Context, ep *endpoint) (*pb.ReplyMeta, error) {
		r, err := rpc(ctx, ep)
		reply = r
		return r.GetMeta(), err
	})
	return reply, err
}

// getAttr runs GetAttr with req (its read options filled in).
func (c *Client) getAttr(ctx context.Context, op, what string, req *pb.GetAttrRequest) (*pb.Attr, error) {
	req.Read = c.readOptions(ctx)
	reply, err := readReply(c, ctx, "GetAttr", op, what, func(ctx context.Context, ep *endpoint) (*pb.AttrReply, error) {
		return ep.ns.GetAttr(ctx, req)
	})
	return reply.GetAttr(), err
}

// readDir runs one ReadDir page with req.
func (c *Client) readDir(ctx context.Context, what string, req *pb.ReadDirRequest) (*pb.ReadDirReply, error) {
	req.Read = c.readOptions(ctx)
	reply, err := readReply(c, ctx, "ReadDir", "readdir", what, func(ctx context.Context, ep *endpoint) (*pb.ReadDirReply, error) {
		return ep.ns.ReadDir(ctx, req)
	})
	return reply, err
}

// readLink runs ReadLink with req.
func (c *Client) readLink(ctx context.Context, what string, req *pb.ReadLinkRequest) (string, error) {
	req.Read = c.readOptions(ctx)
	reply, err := readReply(c, ctx, "ReadLink", "readlink", what, func(ctx context.Context, ep *endpoint) (*pb.ReadLinkReply, error) {
		return ep.ns.ReadLink(ctx, req)
	})
	return reply.GetTarget(), err
}

// StatFs returns the namespace's counters.
func (c *Client) StatFs(ctx context.Context) (*pb.StatFsReply, error) {
	req := &pb.StatFsRequest{Read: c.readOptions(ctx)}
	reply, err := readReply(c, ctx, "StatFs", "statfs", "", func(ctx context.Context, ep *endpoint) (*pb.StatFsReply, error) {
		return ep.ns.StatFs(ctx, req)
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
