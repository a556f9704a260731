package client

import (
	"context"
	"errors"
	"io/fs"
	"syscall"
	"testing"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// allErrnos lists every errno of the proto except OK.
func allErrnos() []pb.Errno {
	var all []pb.Errno
	for n := range pb.Errno_name {
		if n != 0 {
			all = append(all, pb.Errno(n))
		}
	}
	return all
}

// Every errno round-trips through the server's status mapping, and errors.Is
// matches it by errno, syscall.Errno and the io/fs sentinels.
func TestErrnoRoundTrip(t *testing.T) {
	sentinel := map[pb.Errno]error{
		pb.Errno_ENOENT: fs.ErrNotExist, pb.Errno_EEXIST: fs.ErrExist,
		pb.Errno_EPERM: fs.ErrPermission, pb.Errno_EACCES: fs.ErrPermission,
	}
	for _, errno := range allErrnos() {
		e := fromStatus(errnoStatus(errno, "detail"))
		if e.Errno != errno || e.Msg != "detail" {
			t.Errorf("%v: mapped to %v %q", errno, e.Errno, e.Msg)
		}
		var err error = e
		if !errors.Is(err, &Error{Errno: errno}) || !errors.Is(err, syscall.Errno(errno)) {
			t.Errorf("%v: errors.Is by errno failed", errno)
		}
		if s, ok := sentinel[errno]; ok && !errors.Is(err, s) {
			t.Errorf("%v: errors.Is(%v) = false", errno, s)
		}
		for other, s := range sentinel {
			if errors.Is(err, s) && sentinel[errno] != s && !(s == fs.ErrExist && errno == pb.Errno_ENOTEMPTY) {
				t.Errorf("%v: unexpectedly matches %v (of %v)", errno, s, other)
			}
		}
	}
}

// Over a real RPC: rejections the client does not retry come back with their
// errno, from a status (reads) and from a Result (mutations).
func TestErrnoOverRPC(t *testing.T) {
	n := startNode(t, "a", "east")
	c := newTestClient(t, Config{}, n)
	ctx := context.Background()
	for _, errno := range allErrnos() {
		if retryable(fromStatus(errnoStatus(errno, "")), readCall) {
			continue // EAGAIN, ETIMEDOUT: retried, covered by the retry tests
		}
		n.set(func(n *fakeNode) {
			n.onGetAttr = func(context.Context, *pb.GetAttrRequest) error { return errnoStatus(errno, "x") }
			n.result = func(*pb.Command) *pb.Result { return &pb.Result{Errno: errno, Detail: "y"} }
		})
		_, err := c.Stat(ctx, "/p")
		if ErrnoOf(err) != errno || err.Error() != "stat /p: "+errno.String()+": x" {
			t.Errorf("stat: %v: got %v", errno, err)
		}
		res, err := c.Mkdir(ctx, "/q", 0o700)
		if ErrnoOf(err) != errno || res != nil {
			t.Errorf("mkdir: %v: got %v", errno, err)
		}
	}
}

// A status without a geomds ErrorInfo maps by code; the reason alone names
// the errno when the metadata lacks it; cluster reasons are retryable.
func TestFromStatusFallbacks(t *testing.T) {
	cases := []struct {
		err       error
		want      pb.Errno
		retryable bool
	}{
		{status.Error(codes.NotFound, ""), pb.Errno_ENOENT, false},
		{status.Error(codes.Unknown, ""), pb.Errno_EIO, false},
		{status.Error(codes.Unavailable, "conn refused"), pb.Errno_EAGAIN, true},
		{errors.New("not a status"), pb.Errno_EIO, false},
		{infoStatus(codes.FailedPrecondition, "ENOTEMPTY", "", nil), pb.Errno_ENOTEMPTY, false},
		{infoStatus(codes.Unavailable, "NO_LEADER", "", map[string]string{"leader": "n2"}), pb.Errno_EAGAIN, true},
		{infoStatus(codes.Internal, "STOPPED", "", nil), pb.Errno_EIO, true},
	}
	for _, tc := range cases {
		e := fromStatus(tc.err)
		if e.Errno != tc.want || retryable(e, readCall) != tc.retryable {
			t.Errorf("%v: errno %v retryable %v, want %v %v", tc.err, e.Errno, retryable(e, readCall), tc.want, tc.retryable)
		}
	}
	if e := fromStatus(cases[5].err); e.leader != "n2" {
		t.Errorf("leader hint = %q", e.leader)
	}
	rendered := map[string]*Error{
		"stat /a: ENOENT: no such file or directory": {Errno: pb.Errno_ENOENT, Op: "stat", Path: "/a"},
		"mkdir /b: mkdir: EEXIST: b":                 {Errno: pb.Errno_EEXIST, Op: "mkdir", Path: "/b", Msg: "mkdir: EEXIST: b"},
		"ENOTDIR: a is a file":                       {Errno: pb.Errno_ENOTDIR, Msg: "a is a file"},
	}
	for want, e := range rendered {
		if e.Error() != want {
			t.Errorf("rendered %q, want %q", e.Error(), want)
		}
	}
	if ErrnoOf(nil) != pb.Errno_OK || ErrnoOf(errors.New("x")) != pb.Errno_EIO {
		t.Error("ErrnoOf of nil or foreign error")
	}
}
