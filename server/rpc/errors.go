package rpc

import (
	"context"
	"errors"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
	"github.com/geomds/geomds/server/replica"
)

// errorDomain names geomds in ErrorInfo details.
const errorDomain = "geomds"

// Reasons for cluster conditions (not namespace errnos); all retryable.
const (
	reasonNoLeader = "NO_LEADER"
	reasonNoQuorum = "NO_QUORUM"
	reasonStopped  = "STOPPED"
	// reasonUnknown: the command may or may not have been applied (a
	// snapshot replaced the state under it); a retry with the same
	// (client ID, seq) returns its first outcome.
	reasonUnknown = "OUTCOME_UNKNOWN"
	reasonBusy    = "CONF_CHANGE_PENDING"
)

// codeOf is the one table from errno to gRPC code.
var codeOf = map[pb.Errno]codes.Code{
	pb.Errno_ENOENT:       codes.NotFound,
	pb.Errno_EEXIST:       codes.AlreadyExists,
	pb.Errno_EPERM:        codes.PermissionDenied,
	pb.Errno_EACCES:       codes.PermissionDenied,
	pb.Errno_EINVAL:       codes.InvalidArgument,
	pb.Errno_ENAMETOOLONG: codes.InvalidArgument,
	pb.Errno_ELOOP:        codes.InvalidArgument,
	pb.Errno_E2BIG:        codes.InvalidArgument,
	pb.Errno_ERANGE:       codes.InvalidArgument,
	pb.Errno_ENOTEMPTY:    codes.FailedPrecondition,
	pb.Errno_ENOTDIR:      codes.FailedPrecondition,
	pb.Errno_EISDIR:       codes.FailedPrecondition,
	pb.Errno_EXDEV:        codes.FailedPrecondition,
	pb.Errno_EMLINK:       codes.FailedPrecondition,
	pb.Errno_EBUSY:        codes.FailedPrecondition,
	pb.Errno_ENODATA:      codes.FailedPrecondition,
	pb.Errno_ESTALE:       codes.FailedPrecondition,
	pb.Errno_EBADF:        codes.FailedPrecondition,
	pb.Errno_EAGAIN:       codes.Unavailable,
	pb.Errno_ETIMEDOUT:    codes.DeadlineExceeded,
	pb.Errno_ENOSPC:       codes.ResourceExhausted,
	pb.Errno_ENOSYS:       codes.Unimplemented,
	pb.Errno_ENOTSUP:      codes.Unimplemented,
}

// errnoStatus builds the status of a namespace rejection.
func errnoStatus(e pb.Errno, msg string) error {
	code, ok := codeOf[e]
	if !ok {
		code = codes.Internal
	}
	return withInfo(status.New(code, msg), e.String(), map[string]string{"errno": strconv.Itoa(int(e))})
}

func withInfo(st *status.Status, reason string, md map[string]string) error {
	d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: errorDomain, Metadata: md})
	if err != nil {
		return st.Err()
	}
	return d.Err()
}

// clusterStatus is a retryable cluster condition.
func clusterStatus(reason, msg, leader string) error {
	md := map[string]string{}
	if leader != "" {
		md["leader"] = leader
	}
	return withInfo(status.New(codes.Unavailable, msg), reason, md)
}

// toStatus maps any error from the layers below to a gRPC status.
func toStatus(err error, leader string) error {
	var ne *namespace.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ne):
		return errnoStatus(ne.Errno, err.Error())
	case errors.Is(err, replica.ErrNoLeader):
		return clusterStatus(reasonNoLeader, "unavailable: no leader", leader)
	case errors.Is(err, replica.ErrOutcomeUnknown):
		return clusterStatus(reasonUnknown, "unavailable: outcome unknown, retry", leader)
	case errors.Is(err, replica.ErrConfChangePending):
		return clusterStatus(reasonBusy, "unavailable: another membership change is in progress", leader)
	case errors.Is(err, replica.ErrStopped):
		return clusterStatus(reasonStopped, "unavailable: node stopped", leader)
	case errors.Is(err, errNoQuorum):
		return clusterStatus(reasonNoQuorum, err.Error(), leader)
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codes.Internal, err.Error())
}

func invalid(msg string) error { return errnoStatus(pb.Errno_EINVAL, msg) }
