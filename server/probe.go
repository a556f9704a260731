package server

import (
	"context"
	"sync"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// probeInterval is how often a node measures its round trips to the others.
const probeInterval = 5 * time.Second

// peerRTT holds the round trips this node measured to the other members,
// for `geomdsctl status`.
type peerRTT struct {
	mu  sync.Mutex
	rtt map[string]time.Duration // by member name; guarded by mu
}

// probePeers measures, every probeInterval, one health check's round trip
// to each member (declaring this node's site, so emulated WAN delay counts
// as it would for a client here).
func (n *Node) probePeers(ctx context.Context) {
	p := &n.rtts
	ctx = metadata.AppendToOutgoingContext(ctx, siteKey, n.cfg.Site)
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for {
		measured := map[string]time.Duration{}
		for _, m := range n.fsm.Members() {
			if m.Id == n.id {
				continue
			}
			if d, ok := n.probe(ctx, m.Address); ok {
				measured[m.Name] = d
			}
		}
		p.mu.Lock()
		p.rtt = measured
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probe times one health check of the member at addr.
func (n *Node) probe(ctx context.Context, addr string) (time.Duration, bool) {
	cc, err := n.peers.get(addr)
	if err != nil {
		return 0, false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	t0 := time.Now()
	if _, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		return 0, false
	}
	return time.Since(t0), true
}

// snapshot returns the latest measurements.
func (p *peerRTT) snapshot() map[string]time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]time.Duration, len(p.rtt))
	for k, v := range p.rtt {
		out[k] = v
	}
	return out
}
