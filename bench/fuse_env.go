//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// fuseTarget is one side of B8: a directory the workloads run in.
type fuseTarget struct {
	name string // geomds | loopback | local
	dir  string
}

// fuseEnv is everything the fuse mode started: the geomds servers, the two
// mounts, the scratch directory, and the tarball.
type fuseEnv struct {
	dir     string
	servers children
	mounts  []*fuseMount
	targets []fuseTarget
	tarball string
	tarDesc string
}

// start builds geomds and geomdsctl, starts three nodes, mounts them and
// the loopback file system, and prepares the tarball.
func (fe *fuseEnv) start(ctx context.Context, o fuseOptions) error {
	var err error
	if fe.dir, err = os.MkdirTemp("", "geomds-fuse-"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	geomdsBin, ctlBin, err := fuseBinaries(ctx, o, fe.dir)
	if err != nil {
		return err
	}
	gc, err := startGeomds(geomdsBin, fe.dir)
	if gc != nil {
		fe.servers = gc.procs
	}
	if err != nil {
		return err
	}
	leader, err := gc.waitLeader(ctx)
	if err != nil {
		return fmt.Errorf("geomds: waiting for a leader: %w", err)
	}
	logf("geomds: 3 nodes on %v, leader %s", gc.endpoints, leader)
	if err := fe.mountAll(ctx, ctlBin, gc.endpoints, o.direct); err != nil {
		return err
	}
	if o.want("tar") {
		if fe.tarball, fe.tarDesc, err = prepareTarball(ctx, o.tar, fe.dir); err != nil {
			return err
		}
		logf("tarball %s: %s", fe.tarball, fe.tarDesc)
	}
	return nil
}

func fuseBinaries(ctx context.Context, o fuseOptions, dir string) (string, string, error) {
	if o.binDir != "" {
		return filepath.Join(o.binDir, "geomds"), filepath.Join(o.binDir, "geomdsctl"), nil
	}
	logf("building cmd/geomds and cmd/geomdsctl from %s", o.geomdsSrc)
	bins, err := buildCommands(ctx, o.geomdsSrc, dir, "geomds", "geomdsctl")
	if err != nil {
		return "", "", err
	}
	return bins[0], bins[1], nil
}

// mountAll mounts geomds (`geomdsctl mount`, default options; with direct,
// as a client at n1's site given that site's chunk store) and the loopback
// file system over a local directory, and makes the local one.
func (fe *fuseEnv) mountAll(ctx context.Context, ctlBin string, endpoints []string, direct bool) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	gdir := filepath.Join(fe.dir, "mnt-geomds")
	args := []string{"--endpoints", strings.Join(endpoints, ",")}
	if direct {
		store := filepath.Join(fe.dir, "geomds-"+nodeName(0), "chunks") // the node's default store
		args = append(args, "--site", clusterSites[0], "--chunk-store", "file://"+store)
	}
	gm, err := startMount(ctx, fe.dir, "geomdsctl-mount", gdir, ctlBin, append(args, "mount", gdir)...)
	if gm != nil {
		fe.mounts = append(fe.mounts, gm)
	}
	if err != nil {
		return fmt.Errorf("geomdsctl mount: %w", err)
	}
	src, ldir := filepath.Join(fe.dir, "loopback-src"), filepath.Join(fe.dir, "mnt-loopback")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	lm, err := startMount(ctx, fe.dir, "loopback-mount", ldir, self, loopbackMountCmd, "--root", src, "--dir", ldir)
	if lm != nil {
		fe.mounts = append(fe.mounts, lm)
	}
	if err != nil {
		return fmt.Errorf("loopback mount: %w", err)
	}
	local := filepath.Join(fe.dir, "local")
	if err := os.MkdirAll(local, 0o755); err != nil {
		return err
	}
	fe.targets = []fuseTarget{{"geomds", gdir}, {"loopback", ldir}, {"local", local}}
	logf("mounted geomds at %s, loopback of %s at %s; local disk %s", gdir, src, ldir, local)
	return nil
}

// alive returns an error naming a server or mount child that has exited.
func (fe *fuseEnv) alive() error {
	return fe.children().firstExit()
}

func (fe *fuseEnv) children() children {
	cs := slices.Clone(fe.servers)
	for _, m := range fe.mounts {
		cs = append(cs, m.proc)
	}
	return cs
}

// stop unmounts first (so nothing is removed through a mount), then kills
// the servers and removes the scratch directory unless keep.
func (fe *fuseEnv) stop(keep bool) {
	for _, m := range slices.Backward(fe.mounts) {
		m.stop()
	}
	fe.servers.kill()
	if fe.dir == "" {
		return
	}
	if keep {
		logf("kept %s", fe.dir)
		return
	}
	if ms := mountsUnder(fe.dir); len(ms) > 0 {
		logf("not removing %s: still mounted: %v", fe.dir, ms)
		return
	}
	os.RemoveAll(fe.dir) //nolint:errcheck // best effort on the way out
}

func (fe *fuseEnv) dumpLogs() {
	for _, c := range fe.children() {
		logf("--- %s (%s) ---\n%s", c.name, filepath.Base(c.log), c.tail(3000))
	}
}
