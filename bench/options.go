package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
)

// options are the benchmark's flags.
type options struct {
	clients     []int  // concurrency levels, in the order run
	ops         int    // operations per phase per level, split across clients
	warmupOps   int    // untimed operations per system before the first level
	only        string // geomds | etcd | both
	out         string // markdown file the table is appended to ("" = none)
	format      string // table | json (stdout)
	geomdsSrc   string // root of the geomds module (cmd/geomds is built from it)
	geomdsBin   string // prebuilt geomds binary (skips the build)
	etcdLeader  bool   // etcd clients talk to the leader only (else all members)
	shared      bool   // one client object for all benchmark clients, per system
	keep        bool   // keep the scratch directory (data, logs)
	fsyncProbes int    // appends timed by the fsync probe
	rttProbes   int    // round trips timed by the loopback probe
}

func parseOptions(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	clients := fs.String("clients", "1,16,64,256", "concurrency levels, comma separated")
	fs.IntVar(&o.ops, "ops", 10000, "operations per phase and concurrency level, split across the clients")
	fs.IntVar(&o.warmupOps, "warmup", 300, "untimed create+stat operations per system before measuring")
	fs.StringVar(&o.only, "only", "both", "geomds | etcd | both")
	fs.StringVar(&o.out, "out", "", "append the markdown table to this file")
	fs.StringVar(&o.format, "o", "table", "stdout format: table | json")
	fs.StringVar(&o.geomdsSrc, "geomds-src", "..", "root of the geomds module, to build cmd/geomds from")
	fs.StringVar(&o.geomdsBin, "geomds-bin", "", "use this geomds binary instead of building one")
	fs.BoolVar(&o.etcdLeader, "etcd-leader-only", true, "etcd clients talk to the leader only, as geomds clients send mutations to it")
	fs.BoolVar(&o.shared, "shared-client", false, "one client for all benchmark clients (geomds's then batches their concurrent calls; etcd's multiplexes them on one connection)")
	fs.BoolVar(&o.keep, "keep", false, "keep the scratch directory (data dirs and server logs)")
	fs.IntVar(&o.fsyncProbes, "fsync-probes", 200, "appends timed by the B0 fsync probe")
	fs.IntVar(&o.rttProbes, "rtt-probes", 1000, "round trips timed by the B0 loopback probe")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.clients, err = parseInts(*clients); err != nil {
		return o, fmt.Errorf("--clients: %w", err)
	}
	return o, o.check()
}

func (o options) check() error {
	switch {
	case o.ops < 1:
		return fmt.Errorf("--ops must be at least 1")
	case o.only != "geomds" && o.only != "etcd" && o.only != "both":
		return fmt.Errorf("--only %q: want geomds, etcd or both", o.only)
	case o.format != "table" && o.format != "json":
		return fmt.Errorf("-o %q: want table or json", o.format)
	case o.fsyncProbes < 1 || o.rttProbes < 1:
		return fmt.Errorf("--fsync-probes and --rtt-probes must be at least 1")
	}
	return nil
}

func (o options) wantGeomds() bool { return o.only != "etcd" }
func (o options) wantEtcd() bool   { return o.only != "geomds" }

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}
