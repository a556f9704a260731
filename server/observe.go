package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/pprof"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/geomds/geomds/server/metrics"
	"github.com/geomds/geomds/server/namespace"
	"github.com/geomds/geomds/server/replica"
)

// measuredShard counts and times proposals made through this node.
type measuredShard struct {
	*replica.Replica
	m *metrics.Metrics
}

func (s measuredShard) Propose(ctx context.Context, payload []byte) (any, uint64, error) {
	t0 := time.Now()
	out, idx, err := s.Replica.Propose(ctx, payload)
	result := "ok"
	if err != nil {
		result = "failed"
	}
	s.m.Proposals.WithLabelValues(result).Inc()
	metrics.Since(s.m.ProposeSeconds, t0)
	return out, idx, err
}

// observe samples the gauges once a second.
func (n *Node) observe(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var leader uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := n.rep.Status()
		if st.Leader != leader {
			if leader != 0 || st.Leader != 0 {
				n.metrics.LeaderChanges.Inc()
			}
			leader = st.Leader
		}
		m := n.metrics
		m.Term.Set(float64(st.Term))
		m.Commit.Set(float64(st.Commit))
		m.Applied.Set(float64(st.Applied))
		m.ApplyLag.Set(float64(st.Commit) - float64(min(st.Applied, st.Commit)))
		isLeader := 0.0
		if st.Leader == n.id {
			isLeader = 1
		}
		m.IsLeader.Set(isLeader)
		n.reportQuorum()
		if v, err := n.eng.View(shardID); err == nil {
			if fs, err := namespace.StatFs(v); err == nil {
				m.Inodes.Set(float64(fs.Inodes))
				m.Bytes.Set(float64(fs.Bytes))
			}
			v.Close()
		}
	}
}

// serveMetrics starts the metrics endpoint when asked for.
func (n *Node) serveMetrics() {
	if n.metricsLis == nil {
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", n.metrics.Handler())
	if n.cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	lis := n.metricsLis
	n.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.httpSrv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Warn("metrics endpoint ended", "err", err)
		}
	}()
	n.log.Info("metrics", "listen", lis.Addr().String())
}

// MetricsAddr is where metrics are served ("" when off).
func (n *Node) MetricsAddr() string {
	if n.metricsLis == nil {
		return ""
	}
	return n.metricsLis.Addr().String()
}

// namespaceService is the health-checked name of the Namespace service.
const namespaceService = "geomds.Namespace"

// reportQuorum keeps the Namespace service's health honest: NOT_SERVING
// while the handlers would fail writes and STRONG reads for want of a
// quorum, SERVING otherwise. The node's overall health ("") stays SERVING:
// it still serves STALE reads.
func (n *Node) reportQuorum() {
	st := healthpb.HealthCheckResponse_SERVING
	if n.rpc.QuorumErr() != nil {
		st = healthpb.HealthCheckResponse_NOT_SERVING
	}
	n.health.SetServingStatus(namespaceService, st)
}
