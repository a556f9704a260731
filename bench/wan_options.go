package main

import (
	"flag"
	"fmt"
	"slices"
	"time"
)

// wanCmd is B6: each operation from each of three emulated sites.
const wanCmd = "wan"

// wanOptions are the flags of the wan mode.
type wanOptions struct {
	rtt         rttMatrix
	ops         int           // timed sequential operations per row
	warmup      int           // untimed ones before each row
	staleness   time.Duration // MaxStaleness of the STALE client
	moveTo      string        // where set-home moves the home in the pause test
	moveWriter  string        // the site of the writer in the pause test
	etcd        bool          // also measure etcd
	etcdLeader  bool          // etcd clients talk to the leader instead of their own site's member
	geomdsSrc   string
	geomdsBin   string
	keep        bool
	fsyncProbes int
	rttProbes   int
}

func parseWANOptions(args []string) (wanOptions, error) {
	var o wanOptions
	fs := flag.NewFlagSet("bench "+wanCmd, flag.ContinueOnError)
	rtt := fs.String("rtt", "east-west=30ms,east-north=40ms,west-north=35ms", "emulated round trips between the sites east (home), west and north")
	fs.IntVar(&o.ops, "ops", 200, "timed sequential operations per op and site")
	fs.IntVar(&o.warmup, "warmup", 5, "untimed operations before each timed series")
	fs.DurationVar(&o.staleness, "max-staleness", 5*time.Second, "MaxStaleness of the STALE reads")
	fs.StringVar(&o.moveTo, "move-to", "west", "site set-home moves the home to in the leader-move test")
	fs.StringVar(&o.moveWriter, "move-writer", homeSite, "site of the writer in the leader-move test")
	fs.BoolVar(&o.etcd, "etcd", true, "also measure the 3-member etcd behind the same emulated RTTs")
	fs.BoolVar(&o.etcdLeader, "etcd-to-leader", false, "etcd clients call the leader's member across the WAN instead of their own site's member")
	fs.StringVar(&o.geomdsSrc, "geomds-src", "..", "root of the geomds module, to build cmd/geomds from")
	fs.StringVar(&o.geomdsBin, "geomds-bin", "", "use this geomds binary instead of building one")
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
	if o.rtt, err = parseRTTMatrix(*rtt); err != nil {
		return o, fmt.Errorf("--rtt: %w", err)
	}
	if err := o.rtt.covers(clusterSites); err != nil {
		return o, fmt.Errorf("--rtt: %w", err)
	}
	switch {
	case o.ops < 1 || o.warmup < 0:
		return o, fmt.Errorf("--ops must be at least 1 and --warmup at least 0")
	case o.moveTo == homeSite || !slices.Contains(clusterSites, o.moveTo):
		return o, fmt.Errorf("--move-to %q: want one of %v other than %s", o.moveTo, clusterSites, homeSite)
	case !slices.Contains(clusterSites, o.moveWriter):
		return o, fmt.Errorf("--move-writer %q: want one of %v", o.moveWriter, clusterSites)
	case o.fsyncProbes < 1 || o.rttProbes < 1:
		return o, fmt.Errorf("--fsync-probes and --rtt-probes must be at least 1")
	}
	return o, nil
}

// homeSite is where B6 keeps the leader: clusterSites[0], node n1, etcd e1.
const homeSite = "east"
