//go:build linux

package chunkstore

import (
	"errors"
	"os"
	"syscall"
	"unsafe"
)

// directAlign is the alignment direct I/O needs of a buffer's address and
// length (the largest logical block size in common use).
const directAlign = 4096

// haveDirectIO says this platform has O_DIRECT (a file system may still
// refuse it: errNoDirectIO).
const haveDirectIO = true

var errNoDirectIO = errors.New("no direct I/O here")

func directIOable(data []byte) bool {
	return len(data) > 0 && len(data)%directAlign == 0 &&
		uintptr(unsafe.Pointer(unsafe.SliceData(data)))%directAlign == 0
}

// openDirect creates path for writing with O_DIRECT; errNoDirectIO when
// the file system does not support it (tmpfs, some FUSE file systems).
func openDirect(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_DIRECT, 0o666)
	if errors.Is(err, syscall.EINVAL) {
		return nil, errNoDirectIO
	}
	return f, err
}

// alignedBuffer returns n bytes whose address is a multiple of directAlign.
func alignedBuffer(n int) []byte {
	b := make([]byte, n+directAlign)
	skip := (directAlign - int(uintptr(unsafe.Pointer(unsafe.SliceData(b)))%directAlign)) % directAlign
	return b[skip : skip+n : skip+n]
}
