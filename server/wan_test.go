package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server"
	"github.com/geomds/geomds/server/servertest"
)

var wanRTT = server.RTT{{"east", "west"}: 30 * time.Millisecond, {"east", "north"}: 40 * time.Millisecond, {"west", "north"}: 35 * time.Millisecond}

func siteClient(t *testing.T, c *servertest.Cluster, site string, cons pb.Consistency, timeout time.Duration) *client.Client {
	t.Helper()
	return endpointsClient(t, c.Endpoints(), site, cons, timeout)
}

// nodeClient talks to node i only, as a client at site: tests that assert
// which node served a read must not depend on routing under load.
func nodeClient(t *testing.T, c *servertest.Cluster, i int, site string, cons pb.Consistency, timeout time.Duration) *client.Client {
	t.Helper()
	return endpointsClient(t, c.Endpoints()[i:i+1], site, cons, timeout)
}

func endpointsClient(t *testing.T, eps []string, site string, cons pb.Consistency, timeout time.Duration) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := client.New(ctx, client.Config{Endpoints: eps, Site: site, Creds: &pb.Creds{},
		Consistency: cons, MaxStaleness: time.Minute, RequestTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// TestLocalReadsAndDegradedMode: STALE and SESSION reads are served by the
// caller's own site; when the site is cut off from the leader, STALE reads
// go on (saying how stale they are) while writes and STRONG reads fail at
// once with "no quorum" instead of hanging.
func TestLocalReadsAndDegradedMode(t *testing.T) {
	c := servertest.Start(t, servertest.Options{RTT: wanRTT})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	east := siteClient(t, c, "east", pb.Consistency_STRONG, 30*time.Second)
	if err := east.TransferLeader(ctx, 1, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := east.MkdirAll(ctx, "/shared/a", 0o755); err != nil {
		t.Fatal(err)
	}

	west := nodeClient(t, c, 1, "west", pb.Consistency_SESSION, 30*time.Second)
	if _, err := west.Mkdir(ctx, "/shared/from-west", 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := west.Stat(ctx, "/shared/from-west"); err != nil {
		t.Fatalf("SESSION read of the client's own write: %v", err)
	}
	if m := west.LastMeta(); m.GetNode() != "n2" || m.GetConsistency() != pb.Consistency_SESSION {
		t.Fatalf("SESSION read served by %s as %v, want n2 (west) as SESSION", m.GetNode(), m.GetConsistency())
	}

	stale := nodeClient(t, c, 1, "west", pb.Consistency_STALE, 5*time.Second)
	waitFor(t, ctx, "STALE read at west sees /shared/a", func() error {
		_, err := stale.Stat(ctx, "/shared/a")
		return err
	})
	if m := stale.LastMeta(); m.GetNode() != "n2" || m.GetConsistency() != pb.Consistency_STALE {
		t.Fatalf("STALE read served by %s as %v, want n2 as STALE", m.GetNode(), m.GetConsistency())
	}

	// Cut west off: the other two sites go down.
	c.StopNode(0)
	c.StopNode(2)
	var st *pb.ReplyMeta
	waitFor(t, ctx, "STALE read at west, with a staleness bound, while the others are down", func() error {
		if _, err := stale.Stat(ctx, "/shared/from-west"); err != nil {
			return err
		}
		if st = stale.LastMeta(); st.GetNode() != "n2" || st.GetStalenessNs() < int64(100*time.Millisecond) {
			return fmt.Errorf("served as %+v", st)
		}
		return nil
	})
	strong := siteClient(t, c, "west", pb.Consistency_STRONG, 8*time.Second)
	waitFor(t, ctx, "STRONG read at west fails with no quorum", func() error {
		_, err := strong.Stat(ctx, "/shared/a")
		if err == nil {
			return fmt.Errorf("STRONG read succeeded without a quorum")
		}
		if client.ErrnoOf(err) != pb.Errno_EAGAIN || !strings.Contains(err.Error(), "no quorum") {
			return fmt.Errorf("STRONG read error %v, want EAGAIN no quorum", err)
		}
		return nil
	})
	_, err := strong.Mkdir(ctx, "/shared/nope", 0o755)
	if client.ErrnoOf(err) != pb.Errno_EAGAIN {
		t.Fatalf("write without a quorum: %v, want EAGAIN", err)
	}
	// The health service says so too: the Namespace service is not
	// serving, the node itself is (STALE reads).
	cc, err := grpc.NewClient(c.Endpoints()[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	hc := healthpb.NewHealthClient(cc)
	waitFor(t, ctx, "health reports the Namespace service not serving", func() error {
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "geomds.Namespace"})
		if err != nil || r.Status != healthpb.HealthCheckResponse_NOT_SERVING {
			return fmt.Errorf("namespace health %v %v", r.GetStatus(), err)
		}
		return nil
	})
	if r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("node health %v %v, want SERVING", r.GetStatus(), err)
	}
}

// TestSetHomeMovesLeader: set-home moves leadership to the home site while a
// writer keeps writing; no write fails.
func TestSetHomeMovesLeader(t *testing.T) {
	c := servertest.Start(t, servertest.Options{RTT: wanRTT})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cl := siteClient(t, c, "east", pb.Consistency_STRONG, 30*time.Second)
	if err := cl.TransferLeader(ctx, 1, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := cl.MkdirAll(ctx, "/w", 0o755); err != nil {
		t.Fatal(err)
	}
	var failed atomic.Int64
	var wrote atomic.Int64
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; wctx.Err() == nil; i++ {
			if _, err := cl.Mkdir(wctx, fmt.Sprintf("/w/d%d", i), 0o755); err != nil && wctx.Err() == nil {
				failed.Add(1)
				t.Logf("write failed during the move: %v", err)
			} else if err == nil {
				wrote.Add(1)
			}
		}
	}()
	if _, err := cl.Mutate(ctx, &pb.Command{Op: &pb.Command_SetHome{SetHome: &pb.SetHome{Site: "west"}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "leader moves to west", func() error {
		if i := c.Leader(); i != 1 {
			return fmt.Errorf("leader is node %d", i)
		}
		return nil
	})
	n := wrote.Load()
	for wrote.Load() < n+10 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d writes failed while the home moved", failed.Load())
	}
	st, err := cl.Status(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if st.Shards[0].HomeSite != "west" || st.Shards[0].Leader != "n2" {
		t.Fatalf("status: home %q leader %q", st.Shards[0].HomeSite, st.Shards[0].Leader)
	}
}

// TestStrongAcrossSitesAndSessionFailover: a STRONG read at a follower site
// sees a write acknowledged just before at another site; SESSION keeps
// read-your-writes when the client's node fails; a leader elected away
// from the home site hands leadership back.
func TestStrongAcrossSitesAndSessionFailover(t *testing.T) {
	c := servertest.Start(t, servertest.Options{RTT: wanRTT})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	east := siteClient(t, c, "east", pb.Consistency_STRONG, 30*time.Second)
	west := nodeClient(t, c, 1, "west", pb.Consistency_STRONG, 30*time.Second)
	if _, err := east.Mutate(ctx, &pb.Command{Op: &pb.Command_SetHome{SetHome: &pb.SetHome{Site: "east"}}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		p := fmt.Sprintf("/x%d", i)
		if _, err := east.Mkdir(ctx, p, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := west.Stat(ctx, p); err != nil {
			t.Fatalf("STRONG read at west of %s, acknowledged at east: %v", p, err)
		}
		if m := west.LastMeta(); m.GetSite() != "west" || m.GetConsistency() != pb.Consistency_STRONG {
			t.Fatalf("served as %+v, want west STRONG", m)
		}
	}

	// The home site takes leadership back after it moved elsewhere.
	if err := east.TransferLeader(ctx, 1, "n2"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "leader back at the home site", func() error {
		if i := c.Leader(); i != 0 {
			return fmt.Errorf("leader is node %d", i)
		}
		return nil
	})

	// SESSION across failover: the client's own node (west) fails after the
	// write; another node serves the read only once it has applied it.
	sess := siteClient(t, c, "west", pb.Consistency_SESSION, 30*time.Second)
	if _, err := sess.Mkdir(ctx, "/mine", 0o755); err != nil {
		t.Fatal(err)
	}
	c.StopNode(1)
	if _, err := sess.Stat(ctx, "/mine"); err != nil {
		t.Fatalf("SESSION read of the client's own write after its node failed: %v", err)
	}
	if m := sess.LastMeta(); m.GetNode() == "n2" || m.GetAppliedIndex() == 0 {
		t.Fatalf("served by %+v after n2 stopped", m)
	}
}

// TestExplain: replies say how the call was served — a STRONG read at a
// follower site costs one WAN round trip to the leader, a STALE read none.
func TestExplain(t *testing.T) {
	c := servertest.Start(t, servertest.Options{RTT: wanRTT})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	east := siteClient(t, c, "east", pb.Consistency_STRONG, 30*time.Second)
	if err := east.TransferLeader(ctx, 1, "n1"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var traces []client.Trace
	west, err := client.New(ctx, client.Config{Endpoints: c.Endpoints()[1:2], Site: "west", Creds: &pb.Creds{},
		Explain: func(tr client.Trace) { mu.Lock(); traces = append(traces, tr); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer west.Close()
	last := func() client.Trace {
		mu.Lock()
		defer mu.Unlock()
		return traces[len(traces)-1]
	}
	waitFor(t, ctx, "leader settled at east", func() error {
		if _, err := west.Stat(ctx, "/"); err != nil {
			return err
		}
		if tr := last(); tr.Node != "n2" || tr.WANRoundTrips != 1 || tr.ServerTime <= 0 || tr.ServerTime > tr.Duration {
			return fmt.Errorf("STRONG stat at west: %+v", tr)
		}
		return nil
	})
	if _, err := west.Mkdir(ctx, "/e", 0o755); err != nil {
		t.Fatal(err)
	}
	// n2 forwards the write to the leader at east, which commits with a
	// voter at another site: two WAN round trips.
	if tr := last(); tr.Node != "n2" || tr.WANRoundTrips != 2 {
		t.Fatalf("mkdir from west: %+v", tr)
	}
}

// TestStatusMeasuresSiteRTT: status reports the round trips the nodes
// measured between sites (here the emulated ones).
func TestStatusMeasuresSiteRTT(t *testing.T) {
	c := servertest.Start(t, servertest.Options{RTT: wanRTT})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := siteClient(t, c, "east", pb.Consistency_STRONG, 30*time.Second)
	waitFor(t, ctx, "status with measured round trips", func() error {
		st, err := cl.Status(ctx, false)
		if err != nil {
			return err
		}
		for _, n := range st.Nodes {
			if n.Name != "n1" {
				continue
			}
			west, north := time.Duration(n.PeerRttNs["n2"]), time.Duration(n.PeerRttNs["n3"])
			if west < 30*time.Millisecond || north < 40*time.Millisecond {
				return fmt.Errorf("n1 measured west %v, north %v", west, north)
			}
			return nil
		}
		return fmt.Errorf("n1 not in status")
	})
}
