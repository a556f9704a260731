package client

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"syscall"

	"github.com/geomds/geomds/proto/errstatus"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is a failed call: the errno of the failure, the operation and path
// it concerned, and the server's detail.
type Error struct {
	Errno pb.Errno
	Op    string // "stat", "mkdir", "Status", ...
	Path  string // path or name concerned, if any
	Msg   string // the server's detail; empty when it gave none

	cause  error      // ctx error when the call ran out of time
	code   codes.Code // gRPC status code (OK when not from a status)
	reason string     // ErrorInfo reason (an errno name or a cluster condition)
	leader string     // leader hint from the error metadata
}

// Error renders "op path: ENAME: detail". Server details usually name the
// errno already ("mkdir: EEXIST: ..."); then it is not repeated.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		if e.Path != "" {
			b.WriteString(" " + e.Path)
		}
		b.WriteString(": ")
	}
	switch {
	case e.Msg == "":
		b.WriteString(e.Errno.String() + ": " + syscall.Errno(e.Errno).Error())
	case strings.Contains(e.Msg, e.Errno.String()):
		b.WriteString(e.Msg)
	default:
		b.WriteString(e.Errno.String() + ": " + e.Msg)
	}
	return b.String()
}

// Unwrap returns the ctx error of a call that ran out of time.
func (e *Error) Unwrap() error { return e.cause }

// Is matches another *Error or syscall.Errno with the same errno, and the
// io/fs sentinel errors the way os does for syscall errors.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case *Error:
		return t.Errno == e.Errno
	case syscall.Errno:
		return uint32(t) == uint32(e.Errno)
	}
	switch target {
	case fs.ErrNotExist:
		return e.Errno == pb.Errno_ENOENT
	case fs.ErrExist:
		return e.Errno == pb.Errno_EEXIST || e.Errno == pb.Errno_ENOTEMPTY
	case fs.ErrPermission:
		return e.Errno == pb.Errno_EPERM || e.Errno == pb.Errno_EACCES
	case errors.ErrUnsupported:
		return e.Errno == pb.Errno_ENOSYS || e.Errno == pb.Errno_ENOTSUP
	}
	return false
}

// ErrnoOf returns the errno of err: OK for nil, EIO when err is not an *Error.
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

// fromStatus maps a gRPC error to an *Error by its ErrorInfo (errno in the
// metadata, else the reason's errno name), else by its code.
func fromStatus(err error) *Error {
	st := status.Convert(err)
	e := &Error{Errno: pb.Errno_EIO, Msg: st.Message(), code: st.Code()}
	if n, ok := errstatus.ErrnoOfCode(st.Code()); ok {
		e.Errno = n
	}
	if info := errstatus.Info(st); info != nil {
		e.reason = info.GetReason()
		e.leader = info.GetMetadata()["leader"]
		if n, ok := errstatus.Errno(info); ok {
			e.Errno = n
		}
	}
	return e
}

// timeoutError is the error of a call whose ctx ended; last is the most
// recent attempt's error, kept as the detail.
func timeoutError(ctx context.Context, last *Error) *Error {
	e := &Error{Errno: pb.Errno_ETIMEDOUT, Msg: ctx.Err().Error(), cause: ctx.Err()}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		e.Errno = pb.Errno_EIO
	}
	if last != nil {
		e.Msg += "; last error: " + last.Error()
	}
	return e
}

// withOp names the operation and path of a call's error.
func withOp(err error, op, path string) error {
	var e *Error
	if errors.As(err, &e) {
		e.Op, e.Path = op, path
	}
	return err
}
