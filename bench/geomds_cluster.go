package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// clusterSites are the sites of node i+1 of each cluster (geomds n1..n3,
// etcd e1..e3), in order.
var clusterSites = []string{"east", "west", "north"}

// nodeName is the geomds name of node i (0-based).
func nodeName(i int) string { return fmt.Sprintf("n%d", i+1) }

// geomdsCluster is three `geomds serve` processes on loopback, one per
// site, with the default fsync policy (every Raft append is synced).
type geomdsCluster struct {
	endpoints []string
	procs     children
}

// buildGeomds compiles cmd/geomds from src into dir and returns the binary.
func buildGeomds(ctx context.Context, src, dir string) (string, error) {
	bin := filepath.Join(dir, "geomds")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/geomds")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/geomds in %s: %v\n%s", src, err, out)
	}
	return bin, nil
}

// startGeomds starts the three nodes with data and logs under dir; extra
// flags go to every `geomds serve`.
func startGeomds(bin, dir string, extra ...string) (*geomdsCluster, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	gc := &geomdsCluster{}
	var initial []string
	for i, site := range clusterSites {
		addr := fmt.Sprintf("127.0.0.1:%d", ports[i])
		gc.endpoints = append(gc.endpoints, addr)
		initial = append(initial, fmt.Sprintf("%s=%s@%s", nodeName(i), site, addr))
	}
	for i, site := range clusterSites {
		name := nodeName(i)
		data := filepath.Join(dir, "geomds-"+name)
		if err := os.MkdirAll(data, 0o755); err != nil {
			return gc, err
		}
		args := append([]string{"serve", "--name", name, "--site", site,
			"--data-dir", data, "--listen", gc.endpoints[i],
			"--initial-cluster", strings.Join(initial, ","), "--log-level", "warn"}, extra...)
		c, err := startChild(dir, "geomds-"+name, bin, args...)
		if err != nil {
			return gc, err
		}
		gc.procs = append(gc.procs, c)
	}
	return gc, nil
}

// newClient connects one benchmark client: its own connections and client
// ID, STRONG reads, acting as root.
func (gc *geomdsCluster) newClient(ctx context.Context) (*client.Client, error) {
	return client.New(ctx, client.Config{
		Endpoints:      gc.endpoints,
		Consistency:    pb.Consistency_STRONG,
		Creds:          &pb.Creds{},
		RequestTimeout: 30 * time.Second,
	})
}

// waitLeader polls the cluster's status until shard 1 has a leader.
func (gc *geomdsCluster) waitLeader(ctx context.Context) (string, error) {
	c, err := gc.newClient(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	var leader string
	err = poll(ctx, gc.procs, 200*time.Millisecond, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		st, err := c.Status(ctx, false)
		if err != nil {
			return err
		}
		if len(st.Shards) == 0 || st.Shards[0].Leader == "" {
			return fmt.Errorf("no leader yet")
		}
		leader = st.Shards[0].Leader
		return nil
	})
	return leader, err
}
