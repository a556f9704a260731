package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
)

// fuseCmd is B8: the geomds FUSE mount against go-fuse's loopback file
// system and against the local disk.
const fuseCmd = "fuse"

// fuseWorkloads are the parts of B8, in the order each round runs them.
var fuseWorkloads = []string{"seq", "meta", "tar"}

// fuseOptions are the flags of the fuse mode.
type fuseOptions struct {
	size      int64    // bytes written then read sequentially
	files     int      // empty files created, stat'ed and unlinked per run
	workers   int      // concurrent workers of the metadata phases
	tar       string   // tarball, or directory to tar once ("" = GOROOT/src)
	rounds    int      // runs of every workload on every target (median reported)
	tarRounds int      // runs of the tar workload (the longest) on every target
	workloads []string // subset of fuseWorkloads
	geomdsSrc string   // root of the geomds module
	binDir    string   // prebuilt geomds and geomdsctl (skips the build)
	keep      bool     // keep the scratch directory
	direct    bool     // the geomds mount reads and writes its site's chunk store itself
}

func parseFuseOptions(args []string) (fuseOptions, error) {
	var o fuseOptions
	fs := flag.NewFlagSet("bench "+fuseCmd, flag.ContinueOnError)
	size := fs.String("size", "1GiB", "bytes written, fsynced, then read back sequentially")
	fs.IntVar(&o.files, "files", 20000, "empty files created, stat'ed and unlinked per run")
	fs.IntVar(&o.workers, "workers", 16, "concurrent workers of the metadata phases (each in its own directory)")
	fs.StringVar(&o.tar, "tar", "", "tarball to extract, or a directory tarred once (default: the Go source tree)")
	fs.IntVar(&o.rounds, "rounds", 3, "runs of each workload on each target; the median is reported")
	fs.IntVar(&o.tarRounds, "tar-rounds", 1, "runs of the tar workload on each target (at most --rounds)")
	workloads := fs.String("workloads", strings.Join(fuseWorkloads, ","), "which of seq,meta,tar to run")
	fs.StringVar(&o.geomdsSrc, "geomds-src", "..", "root of the geomds module, to build cmd/geomds and cmd/geomdsctl from")
	fs.StringVar(&o.binDir, "bin-dir", "", "directory holding prebuilt geomds and geomdsctl binaries (skips the build)")
	fs.BoolVar(&o.keep, "keep", false, "keep the scratch directory (data dirs and logs)")
	fs.BoolVar(&o.direct, "direct", false, "mount geomds as a client of n1's site with --chunk-store (chunks go to and from the site's store directly, not through a node)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.size, err = parseSize(*size); err != nil {
		return o, fmt.Errorf("--size: %w", err)
	}
	if o.workloads, err = parseWorkloads(*workloads); err != nil {
		return o, err
	}
	if o.files < 1 || o.workers < 1 || o.rounds < 1 || o.tarRounds < 1 {
		return o, fmt.Errorf("--files, --workers, --rounds and --tar-rounds must be at least 1")
	}
	o.tarRounds = min(o.tarRounds, o.rounds)
	return o, nil
}

func parseWorkloads(s string) ([]string, error) {
	var out []string
	for _, w := range strings.Split(s, ",") {
		w = strings.TrimSpace(w)
		if !slices.Contains(fuseWorkloads, w) {
			return nil, fmt.Errorf("--workloads: %q is not one of %v", w, fuseWorkloads)
		}
		out = append(out, w)
	}
	return out, nil
}

func (o fuseOptions) want(workload string) bool { return slices.Contains(o.workloads, workload) }
