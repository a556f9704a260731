package main

import (
	"os"
	"syscall"
)

// syncData is fdatasync, what Pebble's and etcd's write-ahead logs call.
func syncData(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
