package main

import (
	"fmt"
	"strings"
	"time"
)

// wanReport is what the wan mode prints.
type wanReport struct {
	Started               time.Time
	LoadBefore, LoadAfter string
	Opts                  wanOptions
	Probes                probes
	Rows                  []wanRow
	Move                  moveResult
	PeerIdentified        int64  // etcd peer connections delayed by their caller's RTT
	PeerUnidentified      string // the others, delayed by the worst case, by kind
}

func (rep *wanReport) print() {
	var b strings.Builder
	o := rep.Opts
	fmt.Fprintf(&b, "### B6 cross-site latency, %s, %d sequential ops per row, one client per site\n\n", rep.Started.Format("2006-01-02 15:04 UTC"), o.ops)
	fmt.Fprintf(&b, "- emulated RTT %s; home site %s: geomds leader n1, etcd leader e1\n", o.rtt, homeSite)
	fmt.Fprintf(&b, "- geomds: `geomds serve --rtt` (peer traffic, and client calls by declared site); clients have every endpoint, their own site first\n")
	if o.etcd {
		to := "the member at their own site"
		if o.etcdLeader {
			to = "the leader's member (across the WAN)"
		}
		fmt.Fprintf(&b, "- etcd 3.7: pipelining delay proxies on the peer ports (caller's site from X-PeerURLs: %d connections; delayed by the worst case: %s) and on client ports; clients call %s\n",
			rep.PeerIdentified, orNone(rep.PeerUnidentified), to)
	}
	fmt.Fprintf(&b, "- B0: fsync %.3f ms, loopback gRPC RTT %.3f ms; load average before %s, after %s (2 cores)\n\n",
		rep.Probes.FsyncMs, rep.Probes.RTTMs, rep.LoadBefore, rep.LoadAfter)
	b.WriteString("| op | site | geomds p50 / p99 ms | floor ms | p50 / floor | etcd p50 ms | JuiceFS-pattern p50 ms | errors |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f | %s | %s | %s | %s |\n", r.Op, r.Site, latPair(r.Geomds), r.FloorMs,
			floorRatio(r), etcdCell(r.Etcd, r.EtcdOp), p50Cell(r.JuiceFS), wanErrors(r))
	}
	b.WriteString("\nfloor: create = RTT(site, leader) + RTT(leader, nearest voter) + fsync + 2 loopback RTT; " +
		"STRONG stat = RTT(site, leader) + loopback RTT; STALE stat = loopback RTT (served at the site). " +
		"etcd: put / linearizable get / serializable get; JuiceFS pattern = linearizable get of the parent, put inode, put dentry (3 sequential round trips).\n")
	for _, r := range rep.Rows {
		if r.NotAtSite > 0 {
			fmt.Fprintf(&b, "- %s %s: %d reads answered by a node at another site\n", r.Site, r.Op, r.NotAtSite)
		}
	}
	m := rep.Move
	fmt.Fprintf(&b, "\nleader move (writer at %s creating back to back; set-home %s): pause %.1f ms (longest gap between acknowledged writes overlapping the move, began %.0f ms after set-home) vs 2×RTT(%s,%s) = %.0f ms; "+
		"failed writes %d of %d; new leader in status %.0f ms after set-home; create p50 %.1f ms before, %.1f ms after; longest gap outside the move %.1f ms\n",
		m.Writer, m.To, m.PauseMs, m.PauseAtMs, m.From, m.To, m.FloorMs, m.Failed, m.Writes+m.Failed, m.LeaderMs, m.BeforeP50Ms, m.AfterP50Ms, m.NoiseMs)
	if m.FirstErr != "" {
		fmt.Fprintf(&b, "- first failed write: %s\n", m.FirstErr)
	}
	fmt.Print(b.String())
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func latPair(s *latStats) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f / %.2f", s.P50Ms, s.P99Ms)
}

func p50Cell(s *latStats) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f", s.P50Ms)
}

func etcdCell(s *latStats, op string) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f (%s)", s.P50Ms, op)
}

func floorRatio(r wanRow) string {
	if r.Geomds == nil || r.FloorMs <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", r.Geomds.P50Ms/r.FloorMs)
}

// wanErrors is geomds/etcd/JuiceFS-pattern failures.
func wanErrors(r wanRow) string {
	n := func(s *latStats) string {
		if s == nil {
			return "-"
		}
		return fmt.Sprint(s.Errors)
	}
	return n(r.Geomds) + "/" + n(r.Etcd) + "/" + n(r.JuiceFS)
}
