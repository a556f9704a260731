//go:build linux

package chunk

import (
	"crypto/sha256"
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// sumXattr is the extended attribute that keeps a chunk's SHA-256 on
// file://, so a whole-chunk Get can send the sum up front instead of
// hashing the chunk as it sends it.
const sumXattr = "user.geomds.sha256"

// writeSum records sum on f, the chunk's temporary file, before it is
// synced and renamed into place. It is best effort: a file system without
// user xattrs keeps no sum, and Get hashes such chunks instead.
func writeSum(f *os.File, sum []byte) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) { _ = unix.Fsetxattr(int(fd), sumXattr, sum, 0) })
}

// readSum returns the sum recorded on the chunk file at path, or nil if
// there is none (or the file is gone: the open reader still has its bytes).
func readSum(path string) ([]byte, error) {
	buf := make([]byte, sha256.Size)
	n, err := unix.Getxattr(path, sumXattr, buf)
	switch {
	case errors.Is(err, unix.ENODATA), errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.ENOENT),
		errors.Is(err, unix.ERANGE): // longer: not ours
		return nil, nil
	case err != nil:
		return nil, err
	case n != sha256.Size:
		return nil, nil
	}
	return buf, nil
}
