//go:build linux

package chunkstore

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"

	"github.com/geomds/geomds/proto/chunksum"
)

// SumXattr is the extended attribute that keeps a chunk's sum on file://,
// so a whole-chunk Get can send the sum up front instead of computing it
// as it sends the chunk. Chunks written before CRC-32C keep their SHA-256
// in LegacySumXattr.
const (
	SumXattr       = "user.geomds.sum"
	LegacySumXattr = "user.geomds.sha256"
)

// writeSum records sum on f, the chunk's temporary file, before it is
// synced and renamed into place. It is best effort: a file system without
// user xattrs keeps no sum, and Get hashes such chunks instead.
func writeSum(f *os.File, sum []byte) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) { _ = unix.Fsetxattr(int(fd), SumXattr, sum, 0) })
}

// readSum returns the sum recorded on the chunk file at path, or nil if
// there is none (or the file is gone: the open reader still has its bytes).
func readSum(path string) ([]byte, error) {
	for _, name := range []string{SumXattr, LegacySumXattr} {
		buf := make([]byte, 64)
		n, err := unix.Getxattr(path, name, buf)
		switch {
		case errors.Is(err, unix.ENODATA), errors.Is(err, unix.ERANGE): // none, or longer: not ours
			continue
		case errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.ENOENT):
			return nil, nil
		case err != nil:
			return nil, err
		case chunksum.Check(buf[:n]) != nil:
			continue
		}
		return buf[:n], nil
	}
	return nil, nil
}
