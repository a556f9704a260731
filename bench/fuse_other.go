//go:build !linux

package main

import (
	"context"
	"fmt"
)

// loopbackMountCmd is the child role serving go-fuse's loopback file
// system (Linux only).
const loopbackMountCmd = "loopback-mount"

func runFuse(context.Context, []string) error {
	return fmt.Errorf("%s: FUSE benchmarks run on Linux only", fuseCmd)
}

func runLoopbackMount(context.Context, []string) error {
	return fmt.Errorf("%s: Linux only", loopbackMountCmd)
}
