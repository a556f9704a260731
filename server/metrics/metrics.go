// Package metrics defines a node's Prometheus series and the decorators that
// record them around the replica's log store and state machine, the gRPC
// server and the chunk service. Each node has its own registry (several
// nodes may share a process in `geomds dev` and tests), served by Handler.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// latencyBuckets cover a local fsync (~0.3 ms) to a slow WAN call (~10 s).
var latencyBuckets = prometheus.ExponentialBuckets(0.0001, 2.5, 14)

// Metrics holds one node's series.
type Metrics struct {
	reg *prometheus.Registry

	LeaderChanges  prometheus.Counter
	Proposals      *prometheus.CounterVec   // result: ok|rejected|failed
	ProposeSeconds prometheus.Histogram     // propose → applied here
	ApplySeconds   prometheus.Histogram     // one apply batch
	ApplyEntries   prometheus.Counter       // entries applied
	FsyncSeconds   prometheus.Histogram     // one synced log save
	SnapshotsSent  *prometheus.CounterVec   // result: ok|failed
	RPCSeconds     *prometheus.HistogramVec // method, client_site, code
	ChunkBytes     *prometheus.CounterVec   // direction: read|written, client_site

	Term, Commit, Applied, ApplyLag, IsLeader prometheus.Gauge
	Inodes, Bytes                             prometheus.Gauge
	FreeBytes                                 prometheus.Gauge
}

// New registers a node's series; node and site label every series.
func New(node, site string) *Metrics {
	reg := prometheus.NewRegistry()
	f := prometheus.WrapRegistererWith(prometheus.Labels{"node": node, "site": site}, reg)
	m := &Metrics{reg: reg}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "geomds", Name: name, Help: help})
		f.MustRegister(c)
		return c
	}
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "geomds", Name: name, Help: help})
		f.MustRegister(g)
		return g
	}
	hist := func(name, help string) prometheus.Histogram {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "geomds", Name: name, Help: help, Buckets: latencyBuckets})
		f.MustRegister(h)
		return h
	}
	m.LeaderChanges = counter("raft_leader_changes_total", "Leader changes seen by this node.")
	m.Proposals = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "geomds", Name: "raft_proposals_total", Help: "Commands proposed through this node, by outcome."}, []string{"result"})
	m.ProposeSeconds = hist("raft_propose_seconds", "Time from proposing a command to its result being applied on this node (commit + apply).")
	m.ApplySeconds = hist("raft_apply_batch_seconds", "Time to apply one batch of committed entries.")
	m.ApplyEntries = counter("raft_applied_entries_total", "Entries applied to the state machine.")
	m.FsyncSeconds = hist("raft_log_fsync_seconds", "Time of one synced Raft log save (entries + hard state).")
	m.SnapshotsSent = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "geomds", Name: "raft_snapshots_sent_total", Help: "State snapshots streamed to followers, by outcome."}, []string{"result"})
	m.RPCSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "geomds", Name: "rpc_seconds", Help: "gRPC call latency by method, client site and status code.", Buckets: latencyBuckets}, []string{"method", "client_site", "code"})
	m.ChunkBytes = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "geomds", Name: "chunk_bytes_total", Help: "Chunk bytes served by this node's site store, by direction and client site."}, []string{"direction", "client_site"})
	f.MustRegister(m.Proposals, m.SnapshotsSent, m.RPCSeconds, m.ChunkBytes)
	m.Term = gauge("raft_term", "Current Raft term.")
	m.Commit = gauge("raft_commit_index", "Raft commit index.")
	m.Applied = gauge("raft_applied_index", "Index applied to the state machine.")
	m.ApplyLag = gauge("raft_apply_lag_entries", "Commit index minus applied index.")
	m.IsLeader = gauge("raft_is_leader", "1 when this node leads shard 1.")
	m.Inodes = gauge("namespace_inodes", "Inodes in the namespace.")
	m.Bytes = gauge("namespace_bytes", "Bytes of file contents in the namespace.")
	m.FreeBytes = gauge("free_bytes", "Free bytes on the file systems of the data dir and a file:// chunk store (the least of them).")
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Since observes the seconds elapsed from t0.
func Since(h prometheus.Observer, t0 time.Time) { h.Observe(time.Since(t0).Seconds()) }
