// Command bench measures geomds against a 3-member embedded etcd on this
// machine, in one run, interleaved, with fixed operation counts (TESTING.md,
// "Benchmarks": B0 probes and B1 mdtest-easy create/stat).
//
// Both clusters run in child processes so that the load generator does not
// share a Go scheduler with the servers: three `geomds serve` processes, and
// one `bench etcd-server` process hosting three embedded etcd members. A
// third child, `bench rtt-server`, answers gRPC health checks for the
// loopback round-trip probe. Every child and the scratch directory are
// removed on exit and on SIGINT/SIGTERM.
//
//	cd bench && go run -mod=mod . --clients 1,16,64,256 --ops 10000
//
// Two more modes: `fuse` (B8: the mount against go-fuse's loopback file
// system and the local disk) and `wan` (B6: each operation from each of
// three emulated sites, beside its floor and beside etcd).
//
//	go run -mod=mod . fuse --size 1GiB --files 20000 --workers 16
//	go run -mod=mod . wan --rtt east-west=30ms,east-north=40ms,west-north=35ms --ops 200
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := dispatch(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// dispatch runs a child role when the first argument names one, else the
// benchmark itself.
func dispatch(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case etcdServerCmd:
			return runEtcdServer(ctx, args[1:])
		case rttServerCmd:
			return runRTTServer(ctx, args[1:])
		case loopbackMountCmd:
			return runLoopbackMount(ctx, args[1:])
		case fuseCmd:
			return runFuse(ctx, args[1:])
		case wanCmd:
			return runWAN(ctx, args[1:])
		}
	}
	opts, err := parseOptions(args)
	if err != nil {
		return err
	}
	return run(ctx, opts)
}
