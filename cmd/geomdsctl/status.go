package main

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/spf13/cobra"
)

func (a *app) statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "show nodes, shards, leaders and replica progress",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context(), false)
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(toStatusJSON(st))
			}
			return writeStatus(a.stdout, st)
		},
	}
}

type statusJSON struct {
	Nodes  []nodeJSON  `json:"nodes"`
	Shards []shardJSON `json:"shards"`
}

type nodeJSON struct {
	Name      string  `json:"name"`
	Site      string  `json:"site"`
	Address   string  `json:"address"`
	Healthy   bool    `json:"healthy"`
	Role      string  `json:"role,omitempty"`
	Applied   uint64  `json:"applied"`
	Lag       uint64  `json:"lag"`
	DiskBytes uint64  `json:"disk_bytes,omitempty"`
	RTTMs     float64 `json:"rtt_ms,omitempty"`
	Error     string  `json:"error,omitempty"`
	// PeerRTTMs: round trips this node measured to the others, by name.
	PeerRTTMs map[string]float64 `json:"peer_rtt_ms,omitempty"`
}

type shardJSON struct {
	ID       uint64        `json:"id"`
	Leader   string        `json:"leader"`
	HomeSite string        `json:"home_site"`
	Replicas []replicaJSON `json:"replicas"`
}

type replicaJSON struct {
	Name    string `json:"name"`
	Role    string `json:"role"`
	Applied uint64 `json:"applied"`
}

func toStatusJSON(st *pb.StatusReply) statusJSON {
	out := statusJSON{Nodes: []nodeJSON{}, Shards: []shardJSON{}}
	commit := shardCommit(st)
	for _, n := range st.GetNodes() {
		out.Nodes = append(out.Nodes, nodeJSON{
			Name: n.GetName(), Site: n.GetSite(), Address: n.GetAddress(), Healthy: n.GetHealthy(),
			Role: n.GetRole(), Applied: n.GetApplied(), Lag: lag(commit, n.GetApplied()),
			DiskBytes: n.GetDiskBytes(), RTTMs: float64(n.GetRttNs()) / 1e6, Error: n.GetError(),
			PeerRTTMs: peerRTTMs(n.GetPeerRttNs()),
		})
	}
	for _, s := range st.GetShards() {
		sj := shardJSON{ID: s.GetId(), Leader: s.GetLeader(), HomeSite: s.GetHomeSite(), Replicas: []replicaJSON{}}
		for _, r := range s.GetReplicas() {
			sj.Replicas = append(sj.Replicas, replicaJSON{r.GetName(), r.GetRole(), r.GetApplied()})
		}
		out.Shards = append(out.Shards, sj)
	}
	return out
}

// writeStatus prints three tables: nodes, shards, replicas.
func writeStatus(w io.Writer, st *pb.StatusReply) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	commit := shardCommit(st)
	fmt.Fprintln(tw, "NODE\tSITE\tADDRESS\tROLE\tHEALTHY\tAPPLIED\tLAG\tDISK\tRTT")
	for _, n := range st.GetNodes() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", n.GetName(), n.GetSite(), n.GetAddress(), orDash(n.GetRole()),
			yesNo(n.GetHealthy()), n.GetApplied(), lag(commit, n.GetApplied()), humanBytes(n.GetDiskBytes()), rttText(n.GetRttNs()))
	}
	writeSiteRTT(tw, st)
	fmt.Fprintln(tw, "\nSHARD\tLEADER\tTERM\tCOMMIT\tHOME")
	for _, s := range st.GetShards() {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\n", s.GetId(), orDash(s.GetLeader()), s.GetTerm(), s.GetCommit(), orDash(s.GetHomeSite()))
	}
	fmt.Fprintln(tw, "\nSHARD\tREPLICA\tROLE\tAPPLIED\tMATCH\tHEALTHY")
	for _, s := range st.GetShards() {
		for _, r := range s.GetReplicas() {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\n", s.GetId(), r.GetName(), r.GetRole(), r.GetApplied(), r.GetMatch(), yesNo(r.GetHealthy()))
		}
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shardCommit is shard 1's commit index as the reporting node knows it.
func shardCommit(st *pb.StatusReply) uint64 {
	for _, s := range st.GetShards() {
		return s.GetCommit()
	}
	return 0
}

func lag(commit, applied uint64) uint64 {
	if applied >= commit {
		return 0
	}
	return commit - applied
}

func humanBytes(n uint64) string {
	switch {
	case n == 0:
		return "-"
	case n < 1<<20:
		return fmt.Sprintf("%.0fK", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
}

func rttText(ns int64) string {
	if ns <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fms", float64(ns)/1e6)
}

func peerRTTMs(ns map[string]int64) map[string]float64 {
	if len(ns) == 0 {
		return nil
	}
	out := make(map[string]float64, len(ns))
	for k, v := range ns {
		out[k] = float64(v) / 1e6
	}
	return out
}

// writeSiteRTT prints the round trips measured between sites: for each
// pair of sites, the first measurement found from a node of one to a node
// of the other.
func writeSiteRTT(w io.Writer, st *pb.StatusReply) {
	siteOf := map[string]string{}
	for _, n := range st.GetNodes() {
		siteOf[n.GetName()] = n.GetSite()
	}
	type pair struct{ a, b string }
	seen := map[pair]bool{}
	var lines []string
	for _, n := range st.GetNodes() {
		names := make([]string, 0, len(n.GetPeerRttNs()))
		for name := range n.GetPeerRttNs() {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			a, b := n.GetSite(), siteOf[name]
			if a == b || b == "" || seen[pair{a, b}] || seen[pair{b, a}] {
				continue
			}
			seen[pair{a, b}] = true
			lines = append(lines, fmt.Sprintf("%s\t%s\t%s\n", a, b, rttText(n.GetPeerRttNs()[name])))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintln(w, "\nSITE\tSITE\tRTT")
	for _, l := range lines {
		fmt.Fprint(w, l)
	}
}
