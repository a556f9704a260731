package main

import (
	"context"
	"fmt"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// latStats are one timed series of sequential operations.
type latStats struct {
	N, Errors    int
	P50Ms, P99Ms float64
	FirstErr     string
}

// timeSeries makes warm untimed calls of op, then n timed ones, one after
// another; op gets a distinct index j each call (0.. for the warmup).
func timeSeries(ctx context.Context, warm, n int, op func(ctx context.Context, j int) error) *latStats {
	for j := range warm {
		op(ctx, j) //nolint:errcheck // untimed; a failure shows again in the timed calls
	}
	s := &latStats{}
	lats := make([]time.Duration, 0, n)
	for j := warm; j < warm+n && ctx.Err() == nil; j++ {
		t0 := time.Now()
		err := op(ctx, j)
		lats = append(lats, time.Since(t0))
		if err != nil {
			s.Errors++
			if s.FirstErr == "" {
				s.FirstErr = err.Error()
			}
		}
	}
	s.N = len(lats)
	s.P50Ms, s.P99Ms = ms(percentile(lats, 50)), ms(percentile(lats, 99))
	return s
}

// wanRow is one line of the B6 table: an operation from one site.
type wanRow struct {
	Op, Site  string
	Geomds    *latStats
	FloorMs   float64
	Etcd      *latStats // its closest etcd operation
	EtcdOp    string
	JuiceFS   *latStats // creates only: three sequential etcd round trips
	NotAtSite int       // STALE reads answered by a node at another site
}

// runSite measures every operation from site, geomds and etcd alternating
// operation by operation: create (put, JuiceFS pattern), STRONG stat
// (linearizable get), STALE stat (serializable get).
func (w *wanRun) runSite(ctx context.Context, site string) ([]wanRow, error) {
	strong, err := w.gc.siteClient(ctx, site, pb.Consistency_STRONG, 0)
	if err != nil {
		return nil, err
	}
	defer strong.Close()
	stale, err := w.gc.siteClient(ctx, site, pb.Consistency_STALE, w.o.staleness)
	if err != nil {
		return nil, err
	}
	defer stale.Close()
	dir := "/wan/" + site
	if err := strong.MkdirAll(ctx, dir, 0o755); err != nil {
		return nil, err
	}
	var ec *clientv3.Client
	if w.we != nil {
		if ec, err = w.we.siteClient(site, w.o.etcdLeader); err != nil {
			return nil, err
		}
		defer ec.Close()
	}
	file := func(j int) string { return fmt.Sprintf("%s/f%d", dir, j) }
	key := func(j int) string { return fmt.Sprintf("/wan/%s/k%d", site, j) }
	fc, fs, fl := w.floors(site)
	rows := []wanRow{{Op: "create", Site: site, FloorMs: fc, EtcdOp: "put"},
		{Op: "stat STRONG", Site: site, FloorMs: fs, EtcdOp: "linearizable get"},
		{Op: "stat STALE", Site: site, FloorMs: fl, EtcdOp: "serializable get"}}
	series := func(op func(ctx context.Context, j int) error) *latStats {
		return timeSeries(ctx, w.o.warmup, w.o.ops, op)
	}
	rows[0].Geomds = series(func(ctx context.Context, j int) error {
		_, err := strong.Create(ctx, file(j), 0o644, true)
		return err
	})
	logRow(site, "geomds create", rows[0].Geomds)
	if ec != nil {
		rows[0].Etcd = series(func(ctx context.Context, j int) error { return etcdPut(ctx, ec, key(j)) })
		logRow(site, "etcd put", rows[0].Etcd)
		if rows[0].JuiceFS, err = w.juicefsSeries(ctx, ec, site); err != nil {
			return nil, err
		}
		logRow(site, "etcd JuiceFS-pattern create", rows[0].JuiceFS)
	}
	rows[1].Geomds = series(func(ctx context.Context, j int) error {
		_, err := strong.Stat(ctx, file(j))
		return err
	})
	logRow(site, "geomds STRONG stat", rows[1].Geomds)
	if ec != nil {
		rows[1].Etcd = series(func(ctx context.Context, j int) error { return etcdGet(ctx, ec, key(j)) })
		logRow(site, "etcd linearizable get", rows[1].Etcd)
	}
	rows[2].Geomds = series(func(ctx context.Context, j int) error {
		_, err := stale.Stat(ctx, file(j))
		if m := stale.LastMeta(); err == nil && m.GetSite() != site {
			rows[2].NotAtSite++
		}
		return err
	})
	logRow(site, "geomds STALE stat", rows[2].Geomds)
	if ec != nil {
		rows[2].Etcd = series(func(ctx context.Context, j int) error {
			return etcdGet(ctx, ec, key(j), clientv3.WithSerializable())
		})
		logRow(site, "etcd serializable get", rows[2].Etcd)
	}
	return rows, ctx.Err()
}

// floors are what each operation from site cannot beat, in ms: the
// emulated round trips it must wait for, one fsync for a write, and the
// real loopback round trip of each hop.
//   - create: client to leader (RTT(site, home)), leader to its nearest
//     follower (the commit quorum of three voters), one fsync (leader and
//     follower sync in parallel), two loopback round trips.
//   - STRONG stat: client to leader (0 at home, where the lease answers).
//   - STALE stat: the local node: one loopback round trip.
func (w *wanRun) floors(site string) (create, strong, stale float64) {
	loop := w.probes.RTTMs
	toLeader := ms(w.o.rtt.between(site, homeSite))
	quorum := ms(w.o.rtt.nearest(homeSite, clusterSites))
	return toLeader + quorum + w.probes.FsyncMs + 2*loop, toLeader + loop, loop
}

// juicefsSeries times the create of a file system keeping its metadata in
// etcd the way JuiceFS's etcd engine does, reduced to its round trips: a
// linearizable read of the parent, then the inode and the dentry written
// one after the other (three sequential round trips per create).
func (w *wanRun) juicefsSeries(ctx context.Context, ec *clientv3.Client, site string) (*latStats, error) {
	parent := fmt.Sprintf("/jfs/%s/dir", site)
	if err := etcdPut(ctx, ec, parent); err != nil {
		return nil, err
	}
	return timeSeries(ctx, w.o.warmup, w.o.ops, func(ctx context.Context, j int) error {
		if err := etcdGet(ctx, ec, parent); err != nil {
			return err
		}
		if err := etcdPut(ctx, ec, fmt.Sprintf("/jfs/%s/i%d", site, j)); err != nil {
			return err
		}
		return etcdPut(ctx, ec, fmt.Sprintf("/jfs/%s/d%d", site, j))
	}), nil
}

func etcdPut(ctx context.Context, c *clientv3.Client, key string) error {
	ctx, cancel := context.WithTimeout(ctx, etcdOpTimeout)
	defer cancel()
	_, err := c.Put(ctx, key, "")
	return err
}

// etcdGet reads key; a missing key is an error, as ENOENT is for geomds.
func etcdGet(ctx context.Context, c *clientv3.Client, key string, opts ...clientv3.OpOption) error {
	ctx, cancel := context.WithTimeout(ctx, etcdOpTimeout)
	defer cancel()
	resp, err := c.Get(ctx, key, opts...)
	if err == nil && resp.Count == 0 {
		err = fmt.Errorf("get %s: no such key", key)
	}
	return err
}

func logRow(site, what string, s *latStats) {
	logf("%s %s: p50 %.2f ms, p99 %.2f ms, %d ops, %d errors", site, what, s.P50Ms, s.P99Ms, s.N, s.Errors)
	if s.FirstErr != "" {
		logf("%s %s: first error: %s", site, what, s.FirstErr)
	}
}
