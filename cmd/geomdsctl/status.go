package main

import (
	"fmt"
	"io"
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
	Name    string `json:"name"`
	Site    string `json:"site"`
	Address string `json:"address"`
	Healthy bool   `json:"healthy"`
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
	for _, n := range st.GetNodes() {
		out.Nodes = append(out.Nodes, nodeJSON{n.GetName(), n.GetSite(), n.GetAddress(), n.GetHealthy()})
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
	fmt.Fprintln(tw, "NODE\tSITE\tADDRESS\tHEALTHY")
	for _, n := range st.GetNodes() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.GetName(), n.GetSite(), n.GetAddress(), yesNo(n.GetHealthy()))
	}
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
