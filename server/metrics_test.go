package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server"
)

// startSingle starts a one-node cluster with metrics on.
func startSingle(t *testing.T) *server.Node {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n, err := server.Start(context.Background(), server.Config{
		Name: "n1", Site: "east", DataDir: t.TempDir(), Listen: l.Addr().String(), Listener: l,
		InitialCluster: []server.Peer{{Name: "n1", Site: "east", Address: l.Addr().String()}},
		TickInterval:   10 * time.Millisecond, HeartbeatTicks: 1, ElectionTicks: 10,
		MetricsListen: "127.0.0.1:0",
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return n
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// value returns the sum of the samples of a series whose line matches re.
func value(text, re string) float64 {
	sum := 0.0
	for _, m := range regexp.MustCompile(`(?m)^`+re+`(?:\{[^}]*\})? ([0-9.e+-]+)$`).FindAllStringSubmatch(text, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		sum += v
	}
	return sum
}

// TestMetrics scrapes a node's endpoint: the key series are present and
// move with load.
func TestMetrics(t *testing.T) {
	n := startSingle(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := client.New(ctx, client.Config{Endpoints: []string{n.Addr()}, Site: "west", Creds: &pb.Creds{}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.MkdirAll(ctx, "/m", 0o755); err != nil {
		t.Fatal(err)
	}
	before := scrape(t, n.MetricsAddr())
	for i := 0; i < 20; i++ {
		if _, err := cl.Mkdir(ctx, fmt.Sprintf("/m/d%d", i), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Stat(ctx, "/m"); err != nil {
			t.Fatal(err)
		}
	}
	var after string
	deadline := time.Now().Add(10 * time.Second)
	for { // gauges are sampled once a second
		after = scrape(t, n.MetricsAddr())
		if value(after, "geomds_namespace_inodes") >= 22 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, series := range []string{"geomds_raft_proposals_total", "geomds_raft_applied_entries_total", "geomds_raft_log_fsync_seconds_count", "geomds_raft_propose_seconds_count"} {
		if d := value(after, series) - value(before, series); d < 20 {
			t.Errorf("%s moved by %v, want ≥ 20", series, d)
		}
	}
	if v := value(after, `geomds_rpc_seconds_count\{client_site="west",code="OK",method="/geomds.Namespace/GetAttr",node="n1",site="east"\}`); v < 20 {
		t.Errorf("GetAttr calls from west: %v, want ≥ 20", v)
	}
	if v := value(after, "geomds_namespace_inodes"); v < 22 {
		t.Errorf("namespace_inodes = %v, want ≥ 22", v)
	}
	if v := value(after, "geomds_raft_is_leader"); v != 1 {
		t.Errorf("raft_is_leader = %v", v)
	}
}
