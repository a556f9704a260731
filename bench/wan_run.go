package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/geomds/geomds/client"
)

// wanRun is one run of the wan mode: what it started and measured.
type wanRun struct {
	o      wanOptions
	e      *env
	gc     *geomdsCluster
	we     *wanEtcd // nil without --etcd
	admin  *client.Client
	probes probes
}

// runWAN is B6: geomds with the leader at the home site, measured from a
// client at each site beside each operation's floor and beside etcd under
// the same emulated round trips; then the pause of a leader move.
func runWAN(ctx context.Context, args []string) (err error) {
	o, err := parseWANOptions(args)
	if err != nil {
		return err
	}
	w := &wanRun{o: o, e: &env{}}
	defer func() {
		if err != nil && ctx.Err() == nil {
			w.e.dumpLogs()
		}
		if w.admin != nil {
			w.admin.Close()
		}
		w.e.stop(o.keep)
		if w.we != nil {
			w.we.closeProxies()
		}
	}()
	rep := &wanReport{Started: time.Now().UTC(), LoadBefore: loadAvg(), Opts: o}
	if err := w.start(ctx); err != nil {
		return err
	}
	rep.Probes = w.probes
	for _, site := range clusterSites {
		rows, err := w.runSite(ctx, site)
		if err != nil {
			return fmt.Errorf("site %s: %w", site, err)
		}
		rep.Rows = append(rep.Rows, rows...)
		if err := w.e.procs.firstExit(); err != nil {
			return err
		}
	}
	logf("leader move: writer at %s, set-home %s", o.moveWriter, o.moveTo)
	if rep.Move, err = measureMove(ctx, w.gc, w.admin, o.rtt, o.moveWriter, o.moveTo); err != nil {
		return fmt.Errorf("leader move: %w", err)
	}
	if w.we != nil {
		rep.PeerIdentified, rep.PeerUnidentified = w.we.identified.Load(), w.we.unidentifiedSummary()
	}
	rep.LoadAfter = loadAvg()
	rep.print()
	return nil
}

// start brings up the loopback probe server, geomds with --rtt and (with
// --etcd) etcd behind delay proxies, puts both leaders at the home site,
// and runs the B0 probes.
func (w *wanRun) start(ctx context.Context) error {
	e, o := w.e, w.o
	var err error
	if e.dir, err = os.MkdirTemp("", "geomds-wan-"); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := w.startRTTServer(self); err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	if err := w.startGeomds(sctx); err != nil {
		return err
	}
	if o.etcd {
		if err := w.startEtcd(sctx, self); err != nil {
			return err
		}
	}
	fsync, err := probeFsync(ctx, e.dir, o.fsyncProbes)
	if err != nil {
		return fmt.Errorf("fsync probe: %w", err)
	}
	rtt, err := probeRTT(ctx, e.rttAddr, o.rttProbes)
	if err != nil {
		return fmt.Errorf("rtt probe: %w", err)
	}
	w.probes = probes{Clients: 1, FsyncMs: ms(fsync), RTTMs: ms(rtt)}
	logf("B0: fsync %.3f ms, loopback gRPC RTT %.3f ms", w.probes.FsyncMs, w.probes.RTTMs)
	return nil
}

func (w *wanRun) startRTTServer(self string) error {
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	w.e.rttAddr = "127.0.0.1:" + strconv.Itoa(ports[0])
	c, err := startChild(w.e.dir, "rtt", self, rttServerCmd, "--port", strconv.Itoa(ports[0]))
	if err != nil {
		return err
	}
	w.e.procs = append(w.e.procs, c)
	return nil
}

func (w *wanRun) startGeomds(ctx context.Context) error {
	bin := w.o.geomdsBin
	if bin == "" {
		logf("building cmd/geomds from %s", w.o.geomdsSrc)
		var err error
		if bin, err = buildGeomds(ctx, w.o.geomdsSrc, w.e.dir); err != nil {
			return err
		}
	}
	gc, err := startGeomds(bin, w.e.dir, "--rtt", w.o.rtt.String())
	if gc != nil {
		w.e.procs = append(w.e.procs, gc.procs...)
	}
	if err != nil {
		return err
	}
	w.gc = gc
	if _, err := gc.waitLeader(ctx); err != nil {
		return fmt.Errorf("geomds: waiting for a leader: %w", err)
	}
	if w.admin, err = gc.newClient(ctx); err != nil {
		return err
	}
	took, err := setHome(ctx, w.admin, gc.procs, homeSite, nodeName(0), true)
	if err != nil {
		return fmt.Errorf("geomds: leader to %s: %w", homeSite, err)
	}
	logf("geomds: 3 nodes with --rtt %s; home %s, leader %s (%.0f ms)", w.o.rtt, homeSite, nodeName(0), ms(took))
	return nil
}

func (w *wanRun) startEtcd(ctx context.Context, self string) error {
	we, err := startWANEtcd(self, w.e.dir, w.o.rtt)
	if we != nil {
		w.we = we
		if we.proc != nil {
			w.e.procs = append(w.e.procs, we.proc)
		}
	}
	if err != nil {
		return err
	}
	if err := we.moveLeaderTo(ctx, 0); err != nil {
		return fmt.Errorf("etcd: leader to %s: %w", homeSite, err)
	}
	logf("etcd: 3 members behind delay proxies, leader e1 (%s) at %s", we.leader, homeSite)
	return nil
}
