//go:build linux

package main

import (
	"context"
	"time"
)

// runFuse is B8: the same file workloads on the geomds mount, on go-fuse's
// loopback mount of a local directory, and on that local disk directly.
func runFuse(ctx context.Context, args []string) (err error) {
	o, err := parseFuseOptions(args)
	if err != nil {
		return err
	}
	fe := &fuseEnv{}
	defer func() {
		if err != nil && ctx.Err() == nil {
			fe.dumpLogs()
		}
		fe.stop(o.keep)
	}()
	rep := &fuseReport{Started: time.Now().UTC(), LoadBefore: loadAvg(), Opts: o}
	if err := fe.start(ctx, o); err != nil {
		return err
	}
	rep.TarDesc = fe.tarDesc
	res, err := fe.measure(ctx, o)
	if err != nil {
		return err
	}
	rep.LoadAfter, rep.Results = loadAvg(), res
	rep.print()
	return nil
}
