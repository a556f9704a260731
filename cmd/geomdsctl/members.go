package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/spf13/cobra"
)

func (a *app) membersCommand() *cobra.Command {
	cmd := groupCommand("members", "list and change cluster membership",
		a.membersListCommand(), a.membersAddCommand(),
		a.membersChangeCommand("remove", "remove NAME from the cluster"),
		a.membersChangeCommand("promote", "make the learner NAME a voter"))
	cmd.Aliases = []string{"member"}
	return cmd
}

func (a *app) membersListCommand() *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "list the members", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			ms, err := c.MemberList(cmd.Context())
			if err != nil {
				return err
			}
			return a.printMembers(ms)
		},
	}
}

func (a *app) membersAddCommand() *cobra.Command {
	var site, addr string
	var learner bool
	cmd := &cobra.Command{
		Use: "add NAME --site SITE --address HOST:PORT [--learner]", Short: "add a node", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			m, err := c.AddMember(cmd.Context(), args[0], site, addr, learner)
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(toMemberJSON(m))
			}
			_, err = fmt.Fprintf(a.stdout, "added %s (id %d) at %s %s as %s\n", m.GetName(), m.GetId(), m.GetSite(), m.GetAddress(), role(m))
			return err
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "the node's site")
	cmd.Flags().StringVar(&addr, "address", "", "the node's host:port")
	cmd.Flags().BoolVar(&learner, "learner", false, "add as a non-voting learner")
	cmd.MarkFlagRequired("site")    //nolint:errcheck // the flag exists
	cmd.MarkFlagRequired("address") //nolint:errcheck
	return cmd
}

// membersChangeCommand is remove or promote: one name in, the members out.
func (a *app) membersChangeCommand(verb, short string) *cobra.Command {
	return &cobra.Command{
		Use: verb + " NAME", Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			change := c.RemoveMember
			if verb == "promote" {
				change = c.PromoteMember
			}
			ms, err := change(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.printMembers(ms)
		},
	}
}

type memberJSON struct {
	ID      uint64 `json:"id"`
	Name    string `json:"name"`
	Site    string `json:"site"`
	Address string `json:"address"`
	Learner bool   `json:"learner"`
	// CommandVersion is what the member's binary reported (0: not yet).
	CommandVersion uint64 `json:"command_version"`
	// LowSpace: below its free-space reserve when it last reported, with
	// the free bytes it measured then.
	LowSpace  bool   `json:"low_space"`
	FreeBytes uint64 `json:"free_bytes,omitempty"`
}

func toMemberJSON(m *pb.Member) memberJSON {
	return memberJSON{m.GetId(), m.GetName(), m.GetSite(), m.GetAddress(), m.GetLearner(), m.GetCommandVersion(),
		m.GetLowSpace(), m.GetFreeBytes()}
}

func role(m *pb.Member) string {
	if m.GetLearner() {
		return "learner"
	}
	return "voter"
}

func (a *app) printMembers(ms []*pb.Member) error {
	if a.json() {
		out := struct {
			Members []memberJSON `json:"members"`
		}{Members: []memberJSON{}}
		for _, m := range ms {
			out.Members = append(out.Members, toMemberJSON(m))
		}
		return a.printJSON(out)
	}
	return writeMembers(a.stdout, ms)
}

func writeMembers(w io.Writer, ms []*pb.Member) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSITE\tADDRESS\tROLE\tVERSION\tSPACE")
	for _, m := range ms {
		v := "-"
		if m.GetCommandVersion() > 0 {
			v = fmt.Sprint(m.GetCommandVersion())
		}
		space := "ok"
		if m.GetLowSpace() {
			space = fmt.Sprintf("LOW (%d MiB free)", m.GetFreeBytes()>>20)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", m.GetId(), m.GetName(), m.GetSite(), m.GetAddress(), role(m), v, space)
	}
	return tw.Flush()
}
