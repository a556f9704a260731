package server

import (
	"context"
	"time"

	"github.com/geomds/geomds/server/namespace"
)

// placement keeps the shard's leader at its home site: when this node leads
// from elsewhere and a healthy voter lives at home, it hands leadership over.
func (n *Node) placement(ctx context.Context) {
	interval := max(time.Second, 5*time.Duration(n.cfg.ElectionTicks)*n.cfg.TickInterval/10)
	every(ctx, interval, func() {
		if n.rep.Leader() != n.id {
			return
		}
		home := n.homeSite()
		if home == "" || home == n.cfg.Site {
			return
		}
		st := n.rep.Status()
		for id, p := range st.Progress {
			if p.Learner || !p.RecentActive || id == n.id || n.siteOf(id) != home || p.Match < st.Commit {
				continue
			}
			n.log.Info("moving leader to home site", "home", home, "to", id)
			tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := n.rep.TransferLeader(tctx, id); err != nil {
				n.log.Warn("leader transfer to home site failed", "err", err)
			}
			cancel()
			break
		}
	})
}

// every calls fn each interval until ctx is done.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

func (n *Node) homeSite() string {
	v, err := n.eng.View(shardID)
	if err != nil {
		return ""
	}
	defer v.Close()
	home, _ := namespace.HomeSite(v)
	return home
}
