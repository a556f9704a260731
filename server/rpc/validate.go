package rpc

import (
	"errors"

	"github.com/geomds/geomds/proto/chunksum"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
)

// errNoResult means an applied entry produced no result: a bug, not input.
var errNoResult = errors.New("internal: command applied without a result")

// validateCommand rejects what can be judged before proposing: a missing
// operation, the nodes' own chunk bookkeeping, names and paths that could never be valid, or a new chunk
// without a checksum of a known kind (proto/chunksum). The namespace
// checks everything again when it applies (it must not trust its input).
func validateCommand(cmd *pb.Command) error {
	switch cmd.GetOp().(type) {
	case nil:
		return invalid("command has no operation")
	case *pb.Command_DropChunks, *pb.Command_SweepChunks, *pb.Command_ReportVersion:
		// The nodes' own bookkeeping (chunk deletion, versions); a
		// client's creds are its own word, so root's are not enough.
		return errnoStatus(pb.Errno_EPERM, opName(cmd)+": only the nodes send it")
	}
	for _, l := range locs(cmd) {
		if l == nil {
			return invalid(opName(cmd) + ": missing location")
		}
		if l.Path != "" {
			if err := checkPath(l.Path); err != nil {
				return err
			}
			continue
		}
		if err := checkName(l.Name); err != nil {
			return err
		}
	}
	for _, p := range paths(cmd) {
		if err := checkPath(p); err != nil {
			return err
		}
	}
	for _, c := range cmd.GetSetLayout().GetNewChunks() {
		if err := chunksum.Check(c.GetSum()); err != nil {
			return invalid("chunk " + c.GetId() + ": " + err.Error())
		}
	}
	return nil
}

func locs(cmd *pb.Command) []*pb.Loc {
	switch op := cmd.Op.(type) {
	case *pb.Command_Mkdir:
		return []*pb.Loc{op.Mkdir.GetLoc()}
	case *pb.Command_Mknod:
		return []*pb.Loc{op.Mknod.GetLoc()}
	case *pb.Command_Unlink:
		return []*pb.Loc{op.Unlink.GetLoc()}
	case *pb.Command_Rmdir:
		return []*pb.Loc{op.Rmdir.GetLoc()}
	case *pb.Command_Symlink:
		return []*pb.Loc{op.Symlink.GetLoc()}
	case *pb.Command_Link:
		return []*pb.Loc{op.Link.GetNewLoc()}
	case *pb.Command_Rename:
		return []*pb.Loc{op.Rename.GetFrom(), op.Rename.GetTo()}
	}
	return nil
}

func paths(cmd *pb.Command) []string {
	switch op := cmd.Op.(type) {
	case *pb.Command_MkdirAll:
		return []string{op.MkdirAll.GetPath()} // required: "" is rejected
	case *pb.Command_RemoveAll:
		return []string{op.RemoveAll.GetPath()}
	case *pb.Command_Link:
		return optional(op.Link.GetPath())
	case *pb.Command_SetAttr:
		return optional(op.SetAttr.GetPath())
	case *pb.Command_SetXattr:
		return optional(op.SetXattr.GetPath())
	case *pb.Command_RemoveXattr:
		return optional(op.RemoveXattr.GetPath())
	}
	return nil
}

// optional is the path to check when the command names its inode by path
// (by ino otherwise).
func optional(p string) []string {
	if p == "" {
		return nil
	}
	return []string{p}
}

// checkName and checkPath are the namespace's own rules, applied before
// proposing so bad input never reaches the log.
func checkName(name string) error { return toStatus(namespace.ValidateName(name), "") }

func checkPath(p string) error { return toStatus(namespace.ValidatePath(p), "") }

// opName is the command's operation as named in command.proto.
func opName(cmd *pb.Command) string {
	m := cmd.ProtoReflect()
	if f := m.WhichOneof(m.Descriptor().Oneofs().ByName("op")); f != nil {
		return string(f.Name())
	}
	return "command"
}
