package main

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// siteClient is a geomds client at site: it declares the site (the
// servers delay its calls by the emulated RTT), prefers the node there,
// and reads at the given consistency, acting as root.
func (gc *geomdsCluster) siteClient(ctx context.Context, site string, cons pb.Consistency, staleness time.Duration) (*client.Client, error) {
	return client.New(ctx, client.Config{
		Endpoints:      gc.endpoints,
		Site:           site,
		Consistency:    cons,
		MaxStaleness:   staleness,
		Creds:          &pb.Creds{},
		RequestTimeout: 30 * time.Second,
	})
}

// setHome makes site the home of shard 1 (`geomdsctl shard set-home 1
// SITE`) and, with transfer, also moves the leadership to node at once
// (`geomdsctl move-leader`) instead of waiting for the placement loop. It
// returns how long it took until the cluster's status named node leader.
func setHome(ctx context.Context, admin *client.Client, procs children, site, node string, transfer bool) (time.Duration, error) {
	start := time.Now()
	if _, err := admin.Mutate(ctx, &pb.Command{Op: &pb.Command_SetHome{SetHome: &pb.SetHome{Site: site}}}); err != nil {
		return 0, fmt.Errorf("set-home %s: %w", site, err)
	}
	if transfer {
		if leader, _ := shardLeader(ctx, admin); leader != node {
			if err := admin.TransferLeader(ctx, 1, node); err != nil {
				return 0, err
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := poll(ctx, procs, 20*time.Millisecond, func(ctx context.Context) error {
		leader, err := shardLeader(ctx, admin)
		if err == nil && leader != node {
			err = fmt.Errorf("leader is %q, not %s yet", leader, node)
		}
		return err
	})
	return time.Since(start), err
}

func shardLeader(ctx context.Context, c *client.Client) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := c.Status(ctx, false)
	if err != nil {
		return "", err
	}
	if len(st.Shards) == 0 {
		return "", fmt.Errorf("no shard in status")
	}
	return st.Shards[0].Leader, nil
}

// moveResult is the leader-move pause of B6.
type moveResult struct {
	Writer         string // the writer's site
	From, To       string // the home before and after
	Writes, Failed int
	FirstErr       string
	PauseMs        float64 // longest gap between consecutive acknowledged writes overlapping the move
	PauseAtMs      float64 // when that gap began, after set-home was sent
	NoiseMs        float64 // longest gap outside the move: what the machine does anyway
	FloorMs        float64 // 2 × RTT(From, To)
	LeaderMs       float64 // set-home sent → status names the new leader
	BeforeP50Ms    float64 // write latency with the leader at from
	AfterP50Ms     float64 // and at to
}

// ack is one acknowledged write: when it returned and how long it took.
type ack struct {
	at  time.Time
	lat time.Duration
}

// moveSteady is how long the writer runs before set-home and after the new
// leader shows, so the pause sits between two stretches of steady writes.
const moveSteady = 2 * time.Second

// measureMove runs a writer at site writer, creating files back to back,
// while set-home moves the home (and so the leader) from homeSite to site
// to.
func measureMove(ctx context.Context, gc *geomdsCluster, admin *client.Client, rtt rttMatrix, writer, to string) (moveResult, error) {
	r := moveResult{Writer: writer, From: homeSite, To: to, FloorMs: ms(2 * rtt.between(homeSite, to))}
	w, err := gc.siteClient(ctx, writer, pb.Consistency_STRONG, 0)
	if err != nil {
		return r, err
	}
	defer w.Close()
	if err := w.MkdirAll(ctx, "/wan/move", 0o755); err != nil {
		return r, err
	}
	var acks []ack
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for j := 0; !stop.Load() && ctx.Err() == nil; j++ {
			t0 := time.Now()
			_, err := w.Create(ctx, fmt.Sprintf("/wan/move/f%d", j), 0o644, true)
			if err != nil {
				r.Failed++
				if r.FirstErr == "" {
					r.FirstErr = err.Error()
				}
				continue
			}
			acks = append(acks, ack{time.Now(), time.Since(t0)})
		}
	}()
	sleepCtx(ctx, moveSteady)
	sent := time.Now()
	took, err := setHome(ctx, admin, gc.procs, to, nodeName(slices.Index(clusterSites, to)), false)
	if err == nil {
		sleepCtx(ctx, moveSteady)
	}
	stop.Store(true)
	<-done
	if err != nil {
		return r, err
	}
	r.LeaderMs = ms(took)
	r.summarize(acks, sent, sent.Add(took))
	return r, ctx.Err()
}

// summarize finds the longest gap between acknowledged writes that
// overlaps the move (from set-home sent to the new leader in status), the
// longest one outside it, and the write latency before and after.
func (r *moveResult) summarize(acks []ack, sent, moved time.Time) {
	r.Writes = len(acks)
	var before, after []time.Duration
	for i, a := range acks {
		if a.at.Before(sent) {
			before = append(before, a.lat)
		} else if a.at.After(moved) {
			after = append(after, a.lat)
		}
		if i == 0 {
			continue
		}
		prev := acks[i-1].at
		gap := ms(a.at.Sub(prev))
		switch overlaps := !a.at.Before(sent) && !prev.After(moved); {
		case overlaps && gap > r.PauseMs:
			r.PauseMs, r.PauseAtMs = gap, ms(prev.Sub(sent))
		case !overlaps && gap > r.NoiseMs:
			r.NoiseMs = gap
		}
	}
	r.BeforeP50Ms, r.AfterP50Ms = ms(percentile(before, 50)), ms(percentile(after, 50))
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
