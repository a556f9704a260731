package rpc

import (
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"

	"github.com/geomds/geomds/proto/chunksum"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// errnoOf reads the errno a status error carries in its details.
func errnoOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.Reason
		}
	}
	return "OK"
}

func TestValidateCommand(t *testing.T) {
	mkdir := func(l *pb.Loc) *pb.Command {
		return &pb.Command{Op: &pb.Command_Mkdir{Mkdir: &pb.Mkdir{Loc: l, Mode: 0o755}}}
	}
	layout := func(sum []byte) *pb.Command {
		return &pb.Command{Op: &pb.Command_SetLayout{SetLayout: &pb.SetLayout{Ino: 5, Size: 1,
			NewChunks: []*pb.ChunkRef{{Id: "c1", Size: 1, Sum: sum}}}}}
	}
	for _, tc := range []struct {
		name string
		cmd  *pb.Command
		want string
	}{
		{"no command", nil, "EINVAL"},
		{"no operation", &pb.Command{}, "EINVAL"},
		{"no location", mkdir(nil), "EINVAL"},
		{"name with a slash", mkdir(&pb.Loc{Parent: 1, Name: "a/b"}), "EINVAL"},
		{"dot dot", mkdir(&pb.Loc{Parent: 1, Name: ".."}), "EINVAL"},
		{"name too long", mkdir(&pb.Loc{Parent: 1, Name: strings.Repeat("x", 256)}), "ENAMETOOLONG"},
		{"relative path", mkdir(&pb.Loc{Path: "a/b"}), "EINVAL"},
		{"path too long", mkdir(&pb.Loc{Path: "/" + strings.Repeat("x/", 2100)}), "ENAMETOOLONG"},
		{"mkdir -p without a path", &pb.Command{Op: &pb.Command_MkdirAll{MkdirAll: &pb.MkdirAll{}}}, "EINVAL"},
		{"rename to a bad name", &pb.Command{Op: &pb.Command_Rename{Rename: &pb.Rename{
			From: &pb.Loc{Path: "/a"}, To: &pb.Loc{Parent: 1, Name: ""}}}}, "EINVAL"},
		{"setattr by ino", &pb.Command{Op: &pb.Command_SetAttr{SetAttr: &pb.SetAttr{Ino: 5}}}, "OK"},
		{"mkdir by name", mkdir(&pb.Loc{Parent: 1, Name: "a"}), "OK"},
		{"mkdir by path", mkdir(&pb.Loc{Path: "/a/b"}), "OK"},
		{"new chunk without a sum", layout(nil), "EINVAL"},
		{"new chunk with a sum of 5 bytes", layout(make([]byte, 5)), "EINVAL"},
		{"new chunk with a CRC-32C", layout(chunksum.Of([]byte("x"))), "OK"},
		{"new chunk with a SHA-256", layout(make([]byte, 32)), "OK"},
	} {
		if got := errnoOf(validateCommand(tc.cmd)); got != tc.want {
			t.Errorf("%s: %s, want %s (%v)", tc.name, got, tc.want, validateCommand(tc.cmd))
		}
	}
}
