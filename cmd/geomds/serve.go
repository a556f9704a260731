package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/geomds/geomds/server"
	chunksvc "github.com/geomds/geomds/server/chunk"
)

type serveFlags struct {
	name, site, dataDir, listen, initialCluster, chunkStore, rtt, logLevel, logFormat string
	metricsListen, minFree                                                            string
	join, pprof, noReadLease                                                          bool
	snapshotEntries, compactKeep                                                      uint64
	tick, sweepGrace, sweepInterval                                                   time.Duration
	electionTicks, heartbeatTicks                                                     int
}

func serveCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "run one node",
		Example: `  geomds serve --name n1 --site east --data-dir /var/lib/geomds --listen 10.0.0.1:7001 \
    --initial-cluster n1=east@10.0.0.1:7001,n2=west@10.1.0.1:7001,n3=north@10.2.0.1:7001`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config()
			if err != nil {
				return err
			}
			n, err := server.Start(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "geomds: node %s (site %s) serving on %s\n", cfg.Name, cfg.Site, n.Addr())
			select {
			case <-cmd.Context().Done():
				n.Stop()
				return nil
			case <-n.Done():
				return fmt.Errorf("node stopped: %v", n.Err())
			}
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "this node's name (unique, never reused)")
	fl.StringVar(&f.site, "site", "", "this node's site")
	fl.StringVar(&f.dataDir, "data-dir", "", "directory for the node's data")
	fl.StringVar(&f.listen, "listen", "", "HOST:PORT for clients and peers")
	fl.StringVar(&f.initialCluster, "initial-cluster", "", "NAME=SITE@HOST:PORT,... (the founding members; with --join, members to ask)")
	fl.BoolVar(&f.join, "join", false, "join an existing cluster (after `geomdsctl members add`)")
	fl.StringVar(&f.chunkStore, "chunk-store", "", "the site's blob store URL (default file://DATA-DIR/chunks)")
	fl.DurationVar(&f.sweepGrace, "chunk-sweep-grace", chunksvc.DefaultSweepGrace,
		"delete chunks of the site's store that no file names (uploads never committed) once this old; 0 = never")
	fl.DurationVar(&f.sweepInterval, "chunk-sweep-interval", time.Hour, "pause between sweeps of the site's store")
	fl.StringVar(&f.rtt, "rtt", "", "emulate WAN round trips: SITE-SITE=DURATION,...")
	fl.Uint64Var(&f.snapshotEntries, "snapshot-entries", 0, "snapshot and compact the Raft log every N entries (default 10000)")
	fl.Uint64Var(&f.compactKeep, "compact-keep", 0, "entries kept behind a snapshot for slow followers (default 5000)")
	fl.DurationVar(&f.tick, "tick", 0, "Raft tick (default from --rtt: max(10ms, maxRTT/4))")
	fl.IntVar(&f.electionTicks, "election-ticks", 0, "election timeout in ticks (default ≥ 10 heartbeats and ≥ 1s)")
	fl.IntVar(&f.heartbeatTicks, "heartbeat-ticks", 0, "heartbeat in ticks (default ≈ the largest RTT)")
	fl.StringVar(&f.metricsListen, "metrics-listen", "", "HOST:PORT to serve Prometheus metrics at /metrics (default off)")
	fl.BoolVar(&f.pprof, "pprof", false, "also serve /debug/pprof on --metrics-listen")
	fl.BoolVar(&f.noReadLease, "no-read-lease", false, "STRONG reads confirm leadership with a quorum round instead of the leader's lease")
	addMinFreeFlag(fl, &f.minFree)
	addLogFlags(fl, &f.logLevel, &f.logFormat)
	return cmd
}

func (f *serveFlags) config() (server.Config, error) {
	minFree, err := parseBytes(f.minFree)
	if err != nil {
		return server.Config{}, fmt.Errorf("--min-free-space: %w", err)
	}
	peers, err := server.ParseInitialCluster(f.initialCluster)
	if err != nil {
		return server.Config{}, err
	}
	rtt, err := server.ParseRTT(f.rtt)
	if err != nil {
		return server.Config{}, err
	}
	logger, err := newLogger(f.logLevel, f.logFormat)
	if err != nil {
		return server.Config{}, err
	}
	if f.sweepGrace < 0 || f.sweepInterval <= 0 {
		return server.Config{}, fmt.Errorf("--chunk-sweep-grace must be ≥ 0 and --chunk-sweep-interval > 0")
	}
	sweepGrace := f.sweepGrace
	if sweepGrace == 0 {
		sweepGrace = -1 // Config's "no sweeping"
	}
	return server.Config{
		Name: f.name, Site: f.site, DataDir: f.dataDir, Listen: f.listen,
		InitialCluster: peers, Join: f.join, ChunkStore: f.chunkStore, RTT: rtt,
		TickInterval: f.tick, ElectionTicks: f.electionTicks, HeartbeatTicks: f.heartbeatTicks,
		SnapshotEntries: f.snapshotEntries, CompactKeep: f.compactKeep, Logger: logger,
		MetricsListen: f.metricsListen, Pprof: f.pprof, NoReadLease: f.noReadLease,
		ChunkSweepGrace: sweepGrace, ChunkSweepInterval: f.sweepInterval, MinFreeSpace: minFree,
	}, nil
}

type flagSet interface {
	StringVar(p *string, name, value, usage string)
}

// defaultMinFree is the free space a node keeps by default.
const defaultMinFree = "512MiB"

func addMinFreeFlag(fl flagSet, minFree *string) {
	fl.StringVar(minFree, "min-free-space", defaultMinFree,
		"free space to keep on the data dir's (and a file:// chunk store's) file system; below it the cluster refuses new files and data with ENOSPC (0 = no reserve)")
}

// parseBytes parses a byte count: digits with an optional unit B, KiB,
// MiB, GiB or TiB.
func parseBytes(s string) (uint64, error) {
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}
	num, shift := strings.TrimSpace(s), uint(0)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, shift = strings.TrimSpace(rest), u.shift
			break
		}
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n > (1<<64-1)>>shift {
		return 0, fmt.Errorf("%q is not a byte count (e.g. 512MiB, 2GiB, 0)", s)
	}
	return n << shift, nil
}

func addLogFlags(fl flagSet, level, format *string) {
	fl.StringVar(level, "log-level", "info", "debug|info|warn|error")
	fl.StringVar(format, "log-format", "text", "text|json")
}

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", format)
}
