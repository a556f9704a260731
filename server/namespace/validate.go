package namespace

import (
	"strings"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Limits on names and paths (Linux values).
const (
	MaxNameLen    = 255
	MaxPathLen    = 4096
	MaxSymlinkLen = 4096
	maxSymlinks   = 40 // symlinks followed in one resolution before ELOOP
)

// ValidateName checks a single dentry name: 1..255 bytes, no '/', no NUL,
// not "." or "..".
func ValidateName(name string) error {
	switch {
	case name == "":
		return fail(pb.Errno_EINVAL, "empty name")
	case len(name) > MaxNameLen:
		return fail(pb.Errno_ENAMETOOLONG, "name longer than 255 bytes")
	case name == "." || name == "..":
		return fail(pb.Errno_EINVAL, "name is . or ..")
	case strings.IndexByte(name, '/') >= 0:
		return fail(pb.Errno_EINVAL, "name contains /")
	case strings.IndexByte(name, 0) >= 0:
		return fail(pb.Errno_EINVAL, "name contains NUL")
	}
	return nil
}

// ValidatePath checks an absolute path: it starts with '/', is at most 4096
// bytes, has no NUL, and no component longer than 255 bytes. "." and ".."
// components are allowed (resolution interprets them).
func ValidatePath(path string) error {
	switch {
	case path == "" || path[0] != '/':
		return fail(pb.Errno_EINVAL, "path is not absolute")
	case len(path) > MaxPathLen:
		return fail(pb.Errno_ENAMETOOLONG, "path longer than 4096 bytes")
	case strings.IndexByte(path, 0) >= 0:
		return fail(pb.Errno_EINVAL, "path contains NUL")
	}
	for rest := path; ; {
		var comp string
		comp, rest = nextComponent(rest)
		if comp == "" {
			return nil
		}
		if len(comp) > MaxNameLen {
			return fail(pb.Errno_ENAMETOOLONG, "path component longer than 255 bytes")
		}
	}
}

func validateSymlinkTarget(t string) error {
	switch {
	case t == "":
		return fail(pb.Errno_ENOENT, "empty symlink target")
	case len(t) > MaxSymlinkLen:
		return fail(pb.Errno_ENAMETOOLONG, "symlink target longer than 4096 bytes")
	case strings.IndexByte(t, 0) >= 0:
		return fail(pb.Errno_EINVAL, "symlink target contains NUL")
	}
	return nil
}

// nextComponent skips leading slashes and splits off the next component.
// comp is "" when s holds only slashes.
func nextComponent(s string) (comp, rest string) {
	i := 0
	for i < len(s) && s[i] == '/' {
		i++
	}
	s = s[i:]
	j := strings.IndexByte(s, '/')
	if j < 0 {
		return s, ""
	}
	return s[:j], s[j:]
}

// splitLast splits a path into its directory part and final component,
// ignoring trailing slashes. last is "" for "/".
func splitLast(path string) (dir, last string) {
	p := strings.TrimRight(path, "/")
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "/", p
	}
	if i == 0 {
		return "/", p[1:]
	}
	return p[:i], p[i+1:]
}
