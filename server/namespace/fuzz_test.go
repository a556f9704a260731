package namespace

import (
	"strings"
	"testing"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/protobuf/proto"
)

// The fuzz targets run their seed corpus in every `go test`; run longer by
// hand with `go test -fuzz FuzzName`.

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"", "a", ".", "..", "...", "a/b", "a\x00", strings.Repeat("x", 255),
		strings.Repeat("x", 256), "é", " "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidateName(name)
		valid := len(name) >= 1 && len(name) <= 255 && !strings.ContainsAny(name, "/\x00") &&
			name != "." && name != ".."
		if valid != (err == nil) {
			t.Fatalf("ValidateName(%q) = %v, valid %v", name, err, valid)
		}
		if e := ErrnoOf(err); err != nil && e != pb.Errno_EINVAL && e != pb.Errno_ENAMETOOLONG {
			t.Fatalf("ValidateName(%q): errno %v", name, e)
		}
	})
}

// resolveTree is a small tree with relative, absolute, dangling and looping
// symlinks and a directory the user may not search.
const resolveTree = `
mkdir /a
mkdir /a/b
create /a/b/f
mkdir /locked mode=0700
create /locked/x
symlink /a /abs
symlink b /a/rel
symlink ../a/b/f /a/b/up
symlink /nowhere /dangle
symlink /loop2 /loop1
symlink /loop1 /loop2
symlink . /a/dot
`

func FuzzResolvePath(f *testing.F) {
	for _, s := range []string{"/", "/a/b/f", "/abs/rel/up", "/a/dot/dot/b", "/loop1", "/dangle/x",
		"/a/b/f/", "//a//b", "/a/../../a", "/locked/x", "relative", "/" + strings.Repeat("a/", 2100)} {
		f.Add(s, true, false)
	}
	s := newShell(f)
	s.run(resolveTree)
	f.Fuzz(func(t *testing.T, path string, follow, user bool) {
		var c *pb.Creds
		if user {
			c = &pb.Creds{Uid: 1000, Gid: 1000}
		}
		a, err := Resolve(s.tx, c, path, follow)
		if err != nil {
			switch ErrnoOf(err) {
			case pb.Errno_ENOENT, pb.Errno_ENOTDIR, pb.Errno_EACCES, pb.Errno_ELOOP, pb.Errno_EINVAL, pb.Errno_ENAMETOOLONG:
				return
			}
			t.Fatalf("Resolve(%q): unexpected %v", path, err)
		}
		if _, err := GetAttr(s.tx, a.Ino); err != nil {
			t.Fatalf("Resolve(%q) gave ino %d that GetAttr cannot find: %v", path, a.Ino, err)
		}
		if !follow || a.Mode&sIFMT != sIFLNK {
			return
		}
		t.Fatalf("Resolve(%q, follow) ended on a symlink", path)
	})
}

func FuzzDecodeCommand(f *testing.F) {
	for _, seed := range commandLog(1, 200) {
		b, _ := proto.Marshal(seed)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x52, 0x03, 0x0a, 0x01, 0x2f})
	f.Fuzz(func(t *testing.T, data []byte) {
		cmd := &pb.Command{}
		if proto.Unmarshal(data, cmd) != nil {
			return
		}
		s := newShell(t)
		s.run(resolveTree)
		if _, err := Apply(s.tx, cmd); err != nil {
			t.Fatalf("Apply(%v): %v", cmd, err)
		}
		if err := Check(s.tx); err != nil {
			t.Fatalf("after %v: %v", cmd, err)
		}
	})
}
