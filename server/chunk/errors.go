package chunk

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/geomds/geomds/chunkstore"
	"github.com/geomds/geomds/proto/errstatus"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Errno is the errno of err: ENOENT for chunkstore.ErrNotFound, EINVAL for a bad
// request (ID, size, checksum, range), OK for nil, EIO for anything else.
func Errno(err error) pb.Errno {
	switch {
	case err == nil:
		return pb.Errno_OK
	case errors.Is(err, chunkstore.ErrNotFound):
		return pb.Errno_ENOENT
	case errors.Is(err, chunkstore.ErrChecksum), errors.Is(err, chunkstore.ErrSize),
		errors.Is(err, chunkstore.ErrInvalidID), errors.Is(err, chunkstore.ErrRange), errors.Is(err, chunkstore.ErrTooLarge):
		return pb.Errno_EINVAL
	}
	return pb.Errno_EIO
}

// toStatus maps store errors to gRPC statuses by their errno (Errno), as
// every geomds service does (proto/errstatus): ENOENT→NotFound,
// EINVAL→InvalidArgument, EIO→Internal; context errors keep their own
// codes.
func toStatus(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return errstatus.New(Errno(err), err.Error())
}

// fromStatus maps a status from the service back to the store's errors, so
// errors.Is(err, chunkstore.ErrNotFound) works on both sides of the wire. The status
// stays in the chain for its message.
func fromStatus(op, id string, err error) error {
	if err == nil {
		return nil
	}
	switch status.Code(err) {
	case codes.NotFound:
		return &remoteError{op: op, id: id, kind: chunkstore.ErrNotFound, err: err}
	case codes.InvalidArgument:
		return &remoteError{op: op, id: id, kind: errRemoteInvalid, err: err}
	}
	return &remoteError{op: op, id: id, err: err}
}

// errRemoteInvalid is the kind of an InvalidArgument reply; the server's
// message says which check failed.
var errRemoteInvalid = errors.New("rejected by the chunk service")

// remoteError is an error returned by a remote chunk service.
type remoteError struct {
	op, id string
	kind   error // chunkstore.ErrNotFound, errRemoteInvalid or nil
	err    error // the gRPC status error
}

func (e *remoteError) Error() string { return e.op + " " + e.id + ": " + e.err.Error() }

func (e *remoteError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}
