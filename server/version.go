package server

import (
	"context"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
)

// reportVersion keeps this node's command version in its member record:
// it proposes ReportVersion whenever the record says otherwise (a new
// member, a restored registry, a promotion that rewrote the record), so
// commands of that version are refused only while a member lacks it.
func (n *Node) reportVersion(ctx context.Context) {
	version := n.cfg.CommandVersion
	if version == 0 {
		version = namespace.CommandVersion
	}
	const (
		settled    = time.Second // a map lookup while nothing is to report
		firstRetry = 25 * time.Millisecond
	)
	retry := firstRetry
	for {
		wait := settled
		if m, ok := n.fsm.Member(n.id); ok && m.GetCommandVersion() != version {
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := n.proposeSystem(pctx, &pb.Command{Op: &pb.Command_ReportVersion{
				ReportVersion: &pb.ReportVersion{Node: n.id, Version: version}}})
			cancel()
			if err != nil && ctx.Err() == nil {
				// No leader yet (a node just started) or no quorum: soon
				// again, backing off, so that commands of this version
				// wait no longer than needed.
				n.log.Debug("command version not reported yet", "err", err)
				wait, retry = retry, min(2*retry, settled)
			} else {
				retry = firstRetry
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// ClusterCommandVersion is the lowest command version among the members
// (see namespace.CommandVersion), as this node's state has it.
func (n *Node) ClusterCommandVersion() uint64 { return n.fsm.ClusterVersion() }
