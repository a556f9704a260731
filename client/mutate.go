package client

import (
	"context"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/protobuf/proto"
)

// Mutate proposes cmd and returns its result. It works on a copy of cmd and
// fills: shard 1 when unset, the client ID, the next seq and the current
// acked_seq, time 0 (the server stamps it) and the creds when unset (ctx's,
// see WithCreds, else Config.Creds). Retries send the identical command. A
// result with an errno is returned together with an *Error.
func (c *Client) Mutate(ctx context.Context, cmd *pb.Command) (*pb.Result, error) {
	cmd = proto.Clone(cmd).(*pb.Command)
	seq, acked, err := c.seqs.take(ctx)
	if err != nil {
		return nil, err
	}
	defer c.seqs.done(seq)
	if cmd.Shard == 0 {
		cmd.Shard = 1
	}
	cmd.ClientId, cmd.Seq, cmd.AckedSeq, cmd.TimeNs = c.id, seq, acked, 0
	if cmd.Creds == nil {
		cmd.Creds = c.credsFor(ctx)
	}
	op, path := describe(cmd)
	req := &pb.MutateRequest{Command: cmd}
	var res *pb.Result
	err = c.invoke(ctx, "Mutate", mutateCall, func(ctx context.Context, ep *endpoint) (*pb.ReplyMeta, error) {
		reply, err := ep.ns.Mutate(ctx, req)
		res = reply.GetResult()
		c.noteApplied(res.GetAppliedIndex())
		return reply.GetMeta(), err
	})
	if err != nil {
		return nil, withOp(err, op, path)
	}
	if res == nil {
		res = &pb.Result{}
	}
	if res.GetErrno() != pb.Errno_OK {
		return res, &Error{Errno: res.GetErrno(), Op: op, Path: path, Msg: res.GetDetail()}
	}
	return res, nil
}

// describe names a command's operation and the path (or name) it concerns,
// for errors.
func describe(cmd *pb.Command) (op, path string) {
	switch o := cmd.GetOp().(type) {
	case *pb.Command_Mkdir:
		return "mkdir", locString(o.Mkdir.GetLoc())
	case *pb.Command_MkdirAll:
		return "mkdir", o.MkdirAll.GetPath()
	case *pb.Command_Mknod:
		return "create", locString(o.Mknod.GetLoc())
	case *pb.Command_Unlink:
		return "unlink", locString(o.Unlink.GetLoc())
	case *pb.Command_Rmdir:
		return "rmdir", locString(o.Rmdir.GetLoc())
	case *pb.Command_RemoveAll:
		return "remove", o.RemoveAll.GetPath()
	case *pb.Command_Symlink:
		return "symlink", locString(o.Symlink.GetLoc())
	case *pb.Command_Link:
		return "link", locString(o.Link.GetNewLoc())
	case *pb.Command_Rename:
		return "rename", locString(o.Rename.GetFrom())
	case *pb.Command_SetAttr:
		return "setattr", o.SetAttr.GetPath()
	case *pb.Command_SetXattr:
		return "setxattr", o.SetXattr.GetPath()
	case *pb.Command_RemoveXattr:
		return "removexattr", o.RemoveXattr.GetPath()
	case *pb.Command_Open:
		return "open", ""
	case *pb.Command_Release:
		return "release", ""
	}
	return "mutate", ""
}

// locString renders a Loc: its path, else its name.
func locString(l *pb.Loc) string {
	if l.GetPath() != "" {
		return l.GetPath()
	}
	return l.GetName()
}
