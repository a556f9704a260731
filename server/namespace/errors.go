package namespace

import (
	"errors"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Error is a namespace rejection: a deterministic, errno-like outcome that
// every replica computes identically.
type Error struct {
	Errno  pb.Errno
	Op     string
	Detail string
}

func (e *Error) Error() string {
	s := e.Op + ": " + e.Errno.String()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Is reports whether target is a namespace *Error with the same Errno, so
// errors.Is(err, &Error{Errno: pb.Errno_ENOENT}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Errno == e.Errno
}

// ErrnoOf returns the errno carried by err: OK for nil, EIO for errors that
// are not namespace errors (storage failures).
func ErrnoOf(err error) pb.Errno {
	if err == nil {
		return pb.Errno_OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Errno
	}
	return pb.Errno_EIO
}

// fail builds a rejection. op is filled in by Apply or the read entry point.
func fail(errno pb.Errno, detail string) *Error {
	return &Error{Errno: errno, Detail: detail}
}

// withOp sets the operation name on a namespace error that lacks one.
func withOp(err error, op string) error {
	var e *Error
	if errors.As(err, &e) && e.Op == "" {
		e.Op = op
	}
	return err
}

// isRejection reports whether err is a namespace rejection (as opposed to a
// storage failure, which must stop the replica).
func isRejection(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
