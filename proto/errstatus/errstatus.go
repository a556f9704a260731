// Package errstatus is how geomds errors travel in gRPC statuses, shared by
// every service and the client: a gRPC code chosen by one table from the
// errno, plus an ErrorInfo detail (domain "geomds") whose reason is the
// errno's name, or a cluster condition such as NO_LEADER, and whose
// metadata carries the errno's number ("errno") and hints such as the
// leader's address ("leader").
package errstatus

import (
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Domain names geomds in ErrorInfo details.
const Domain = "geomds"

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

// Code is the gRPC code of errno e (Internal for EIO and the unlisted).
func Code(e pb.Errno) codes.Code {
	if c, ok := codeOf[e]; ok {
		return c
	}
	return codes.Internal
}

// codeErrno is the errno assumed for a status without a geomds ErrorInfo
// (from gRPC itself or a proxy): the inverse of codeOf, one errno a code;
// FailedPrecondition stands for too many errnos to pick one, so EIO.
var codeErrno = map[codes.Code]pb.Errno{
	codes.NotFound:           pb.Errno_ENOENT,
	codes.AlreadyExists:      pb.Errno_EEXIST,
	codes.PermissionDenied:   pb.Errno_EACCES,
	codes.Unauthenticated:    pb.Errno_EACCES,
	codes.InvalidArgument:    pb.Errno_EINVAL,
	codes.OutOfRange:         pb.Errno_EINVAL,
	codes.Unavailable:        pb.Errno_EAGAIN,
	codes.DeadlineExceeded:   pb.Errno_ETIMEDOUT,
	codes.ResourceExhausted:  pb.Errno_ENOSPC,
	codes.Unimplemented:      pb.Errno_ENOSYS,
	codes.FailedPrecondition: pb.Errno_EIO,
}

// ErrnoOfCode is the errno to assume for a status with code c and no
// geomds ErrorInfo; ok is false for codes without one (EIO then).
func ErrnoOfCode(c codes.Code) (pb.Errno, bool) {
	e, ok := codeErrno[c]
	return e, ok
}

// New returns the status error of errno e with msg.
func New(e pb.Errno, msg string) error {
	return WithInfo(status.New(Code(e), msg), e.String(), map[string]string{"errno": strconv.Itoa(int(e))})
}

// WithInfo adds a geomds ErrorInfo with reason and md to st.
func WithInfo(st *status.Status, reason string, md map[string]string) error {
	d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: md})
	if err != nil {
		return st.Err()
	}
	return d.Err()
}

// Info returns the geomds ErrorInfo of st, or nil.
func Info(st *status.Status) *errdetails.ErrorInfo {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == Domain {
			return info
		}
	}
	return nil
}

// Errno reads the errno of info: the metadata's "errno" first, then the
// reason when it names an errno.
func Errno(info *errdetails.ErrorInfo) (pb.Errno, bool) {
	if s, ok := info.GetMetadata()["errno"]; ok {
		if n, err := strconv.ParseUint(s, 10, 31); err == nil && n != 0 {
			return pb.Errno(n), true
		}
	}
	if n, ok := pb.Errno_value[info.GetReason()]; ok && n != 0 {
		return pb.Errno(n), true
	}
	return 0, false
}
