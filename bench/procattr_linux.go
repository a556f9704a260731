package main

import "syscall"

// childAttr puts a child in its own process group and asks the kernel to
// kill it if this process dies without cleaning up (kill -9, a panic).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
