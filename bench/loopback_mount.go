//go:build linux

package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// loopbackMountCmd is the child role serving go-fuse's loopback file
// system: the FUSE baseline of B8, a mount that adds only go-fuse and the
// kernel's round trips to the local disk.
const loopbackMountCmd = "loopback-mount"

// loopbackReadyLine goes to the child's log once the mount is up.
const loopbackReadyLine = "loopback-mount: ready"

// runLoopbackMount mounts --root at --dir until ctx ends (SIGTERM), then
// unmounts; an unmount from outside ends it too.
func runLoopbackMount(ctx context.Context, args []string) error {
	fl := flag.NewFlagSet(loopbackMountCmd, flag.ContinueOnError)
	root := fl.String("root", "", "directory to serve")
	dir := fl.String("dir", "", "mount point")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *root == "" || *dir == "" {
		return fmt.Errorf("%s: want --root and --dir", loopbackMountCmd)
	}
	node, err := fs.NewLoopbackRoot(*root)
	if err != nil {
		return err
	}
	srv, err := fs.Mount(*dir, node, loopbackOptions(*root))
	if err != nil {
		return fmt.Errorf("mount %s: %w", *dir, err)
	}
	fmt.Println(loopbackReadyLine)
	served := make(chan struct{})
	go func() {
		srv.Wait()
		close(served)
	}()
	select {
	case <-served:
		fmt.Println("loopback-mount: unmounted from outside")
		return nil
	case <-ctx.Done():
	}
	for range 10 {
		if srv.Unmount() == nil {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	<-served
	return nil
}

// loopbackOptions mirror what `geomdsctl mount` asks for (client/fusefs):
// 1 MiB writes, atomic O_TRUNC, 1 s attribute and entry caches, no cached
// negative lookups, no default_permissions.
func loopbackOptions(root string) *fs.Options {
	attr, entry := time.Second, time.Second
	return &fs.Options{
		MountOptions: fuse.MountOptions{
			FsName:            root,
			Name:              "loopback",
			MaxWrite:          1 << 20,
			ExtraCapabilities: fuse.CAP_ATOMIC_O_TRUNC,
		},
		AttrTimeout:     &attr,
		EntryTimeout:    &entry,
		NullPermissions: true,
	}
}
