package fusefs

import (
	"errors"
	"syscall"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// errnoTable maps the namespace's errno kinds to the kernel's. They carry
// Linux values, so the table is the identity on Linux; it exists so that
// the mapping is written down once and an unknown kind becomes EIO.
var errnoTable = map[pb.Errno]syscall.Errno{
	pb.Errno_OK:           0,
	pb.Errno_EPERM:        syscall.EPERM,
	pb.Errno_ENOENT:       syscall.ENOENT,
	pb.Errno_EIO:          syscall.EIO,
	pb.Errno_E2BIG:        syscall.E2BIG,
	pb.Errno_EBADF:        syscall.EBADF,
	pb.Errno_EAGAIN:       syscall.EAGAIN,
	pb.Errno_EACCES:       syscall.EACCES,
	pb.Errno_EBUSY:        syscall.EBUSY,
	pb.Errno_EEXIST:       syscall.EEXIST,
	pb.Errno_EXDEV:        syscall.EXDEV,
	pb.Errno_ENOTDIR:      syscall.ENOTDIR,
	pb.Errno_EISDIR:       syscall.EISDIR,
	pb.Errno_EINVAL:       syscall.EINVAL,
	pb.Errno_EFBIG:        syscall.EFBIG,
	pb.Errno_ENOSPC:       syscall.ENOSPC,
	pb.Errno_EROFS:        syscall.EROFS,
	pb.Errno_EMLINK:       syscall.EMLINK,
	pb.Errno_ERANGE:       syscall.ERANGE,
	pb.Errno_ENAMETOOLONG: syscall.ENAMETOOLONG,
	pb.Errno_ENOSYS:       syscall.ENOSYS,
	pb.Errno_ENOTEMPTY:    syscall.ENOTEMPTY,
	pb.Errno_ELOOP:        syscall.ELOOP,
	pb.Errno_ENODATA:      syscall.ENODATA,
	pb.Errno_ESTALE:       syscall.ESTALE,
	pb.Errno_ENOTSUP:      syscall.ENOTSUP,
	pb.Errno_ETIMEDOUT:    syscall.ETIMEDOUT,
}

// toErrno maps an error to the errno the kernel returns: a client.Error by
// the table, a syscall.Errno as it is, anything else (or an unknown kind)
// as EIO.
func toErrno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if se, ok := errors.AsType[syscall.Errno](err); ok {
		return se
	}
	if e, ok := errnoTable[client.ErrnoOf(err)]; ok && e != 0 {
		return e
	}
	return syscall.EIO
}
