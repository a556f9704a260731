package rpc

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/geomds/geomds/proto/errstatus"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
	"github.com/geomds/geomds/server/replica"
)

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

// errnoStatus builds the status of a namespace rejection.
func errnoStatus(e pb.Errno, msg string) error { return errstatus.New(e, msg) }

// clusterStatus is a retryable cluster condition.
func clusterStatus(reason, msg, leader string) error {
	md := map[string]string{}
	if leader != "" {
		md["leader"] = leader
	}
	return errstatus.WithInfo(status.New(codes.Unavailable, msg), reason, md)
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
