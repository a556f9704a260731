package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// probes is B0: the costs a replicated write cannot avoid on this machine.
type probes struct {
	Clients int     `json:"clients"`  // the level they were measured before
	FsyncMs float64 `json:"fsync_ms"` // median of a small append + data sync
	RTTMs   float64 `json:"rtt_ms"`   // median loopback gRPC round trip
}

// createFloorMs is the least a single-client create can cost: client to
// leader and back, leader to a follower and back, and one durable append
// (leader and follower sync in parallel).
func (p probes) createFloorMs() float64 { return 2*p.RTTMs + p.FsyncMs }

// probeFsync times n appends of 64 bytes, each followed by a data sync, to
// a file in dir (the disk the servers' data lives on).
func probeFsync(ctx context.Context, dir string, n int) (time.Duration, error) {
	f, err := os.OpenFile(filepath.Join(dir, "fsync-probe"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	rec := make([]byte, 64)
	lat := make([]time.Duration, 0, n)
	for range n {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		start := time.Now()
		if _, err := f.Write(rec); err != nil {
			return 0, err
		}
		if err := syncData(f); err != nil {
			return 0, err
		}
		lat = append(lat, time.Since(start))
	}
	return percentile(lat, 50), nil
}

// probeRTT times n gRPC health checks against the rtt-server child at addr,
// after a few untimed ones to set up the connection.
func probeRTT(ctx context.Context, addr string, n int) (time.Duration, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	lat := make([]time.Duration, 0, n)
	for i := range n + 50 {
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := hc.Check(cctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
		cancel()
		if err != nil {
			return 0, fmt.Errorf("health check of %s: %w", addr, err)
		}
		if i >= 50 {
			lat = append(lat, time.Since(start))
		}
	}
	return percentile(lat, 50), nil
}

// runProbes measures B0 once.
func runProbes(ctx context.Context, o options, dir, rttAddr string, clients int) (probes, error) {
	fsync, err := probeFsync(ctx, dir, o.fsyncProbes)
	if err != nil {
		return probes{}, fmt.Errorf("fsync probe: %w", err)
	}
	rtt, err := probeRTT(ctx, rttAddr, o.rttProbes)
	if err != nil {
		return probes{}, fmt.Errorf("rtt probe: %w", err)
	}
	return probes{Clients: clients, FsyncMs: ms(fsync), RTTMs: ms(rtt)}, nil
}
