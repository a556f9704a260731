package errstatus

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

func TestRoundTrip(t *testing.T) {
	for e, code := range map[pb.Errno]codes.Code{
		pb.Errno_ENOENT:    codes.NotFound,
		pb.Errno_EACCES:    codes.PermissionDenied,
		pb.Errno_ENOTEMPTY: codes.FailedPrecondition,
		pb.Errno_EAGAIN:    codes.Unavailable,
		pb.Errno_EIO:       codes.Internal, // not in the table
	} {
		st := status.Convert(New(e, "msg"))
		if st.Code() != code || st.Message() != "msg" {
			t.Errorf("%v: status %v %q, want %v", e, st.Code(), st.Message(), code)
		}
		info := Info(st)
		if info == nil {
			t.Fatalf("%v: no ErrorInfo", e)
		}
		if got, ok := Errno(info); !ok || got != e || info.GetReason() != e.String() {
			t.Errorf("%v: errno %v %v, reason %q", e, got, ok, info.GetReason())
		}
	}
}

func TestClusterCondition(t *testing.T) {
	st := status.Convert(WithInfo(status.New(codes.Unavailable, "no leader"), "NO_LEADER", map[string]string{"leader": "n2"}))
	info := Info(st)
	if info == nil || info.GetReason() != "NO_LEADER" || info.GetMetadata()["leader"] != "n2" {
		t.Fatalf("info %v", info)
	}
	if _, ok := Errno(info); ok {
		t.Fatal("a cluster condition has no errno")
	}
	if Info(status.New(codes.Internal, "plain")) != nil {
		t.Fatal("ErrorInfo found in a plain status")
	}
}

func TestErrnoOfCode(t *testing.T) {
	for e := range codeOf {
		got, ok := ErrnoOfCode(Code(e))
		if Code(e) == codes.FailedPrecondition { // stands for many errnos
			if got != pb.Errno_EIO {
				t.Errorf("%v: FailedPrecondition maps back to %v, want EIO", e, got)
			}
			continue
		}
		if !ok || Code(got) != Code(e) {
			t.Errorf("%v: code %v maps back to %v (%v), whose code is %v", e, Code(e), got, ok, Code(got))
		}
	}
	if _, ok := ErrnoOfCode(codes.Internal); ok {
		t.Error("Internal has an errno; want none (EIO)")
	}
}
