package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// startupTimeout bounds building geomds and waiting for both leaders.
const startupTimeout = 3 * time.Minute

// env is everything a run started: children to kill, the scratch
// directory to remove, and the systems under test.
type env struct {
	dir     string
	procs   children
	rttAddr string
	systems []system // in the order of the first level
}

// run starts the servers, measures every level and reports.
func run(ctx context.Context, o options) (err error) {
	e := &env{}
	defer func() {
		if err != nil && ctx.Err() == nil {
			e.dumpLogs()
		}
		e.stop(o.keep)
	}()
	if err := e.start(ctx, o); err != nil {
		return err
	}
	rep := &report{Started: time.Now().UTC(), Ops: o.ops, Only: o.only}
	for i, n := range o.clients {
		p, err := runProbes(ctx, o, e.dir, e.rttAddr, n)
		if err != nil {
			return err
		}
		rep.Probes = append(rep.Probes, p)
		logf("B0 before %d clients: fsync %.3f ms, loopback gRPC RTT %.3f ms", n, p.FsyncMs, p.RTTMs)
		rows, err := e.runLevel(ctx, n, o.ops, i%2 == 1)
		if err != nil {
			return err
		}
		rep.Rows = append(rep.Rows, rows...)
	}
	return rep.write(o)
}

// start builds and starts everything, then waits for leaders and warms up.
func (e *env) start(ctx context.Context, o options) error {
	var err error
	if e.dir, err = os.MkdirTemp("", "geomds-bench-"); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	e.rttAddr = "127.0.0.1:" + strconv.Itoa(ports[0])
	rtt, err := startChild(e.dir, "rtt", self, rttServerCmd, "--port", strconv.Itoa(ports[0]))
	if err != nil {
		return err
	}
	e.procs = append(e.procs, rtt)
	sctx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	if o.wantGeomds() {
		if err := e.startGeomds(sctx, o); err != nil {
			return err
		}
	}
	if o.wantEtcd() {
		if err := e.startEtcd(sctx, o, self); err != nil {
			return err
		}
	}
	return e.warmup(sctx, o.warmupOps)
}

func (e *env) startGeomds(ctx context.Context, o options) error {
	bin := o.geomdsBin
	if bin == "" {
		logf("building cmd/geomds from %s", o.geomdsSrc)
		var err error
		if bin, err = buildGeomds(ctx, o.geomdsSrc, e.dir); err != nil {
			return err
		}
	}
	gc, err := startGeomds(bin, e.dir)
	if gc != nil {
		e.procs = append(e.procs, gc.procs...)
	}
	if err != nil {
		return err
	}
	leader, err := gc.waitLeader(ctx)
	if err != nil {
		return fmt.Errorf("geomds: waiting for a leader: %w", err)
	}
	logf("geomds: 3 nodes on %v, leader %s", gc.endpoints, leader)
	e.systems = append(e.systems, geomdsSystem{cluster: gc, shared: o.shared})
	return nil
}

func (e *env) startEtcd(ctx context.Context, o options, self string) error {
	ec, err := startEtcd(self, e.dir)
	if ec != nil && ec.proc != nil {
		e.procs = append(e.procs, ec.proc)
	}
	if err != nil {
		return err
	}
	if err := ec.waitLeader(ctx); err != nil {
		return fmt.Errorf("etcd: waiting for a leader: %w", err)
	}
	logf("etcd: 3 members on %v, leader %s", ec.endpoints, ec.leader)
	e.systems = append(e.systems, etcdSystem{cluster: ec, leaderOnly: o.etcdLeader, shared: o.shared})
	return nil
}

// stop kills every child and removes the scratch directory unless keep.
func (e *env) stop(keep bool) {
	e.procs.kill()
	if e.dir == "" {
		return
	}
	if keep {
		logf("kept %s", e.dir)
		return
	}
	os.RemoveAll(e.dir) //nolint:errcheck // best effort on the way out
}

// dumpLogs shows the end of every child's log, to explain a failure.
func (e *env) dumpLogs() {
	for _, c := range e.procs {
		logf("--- %s (%s) ---\n%s", c.name, filepath.Base(c.log), c.tail(3000))
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
