package main

import (
	"fmt"

	"github.com/spf13/cobra"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

func (a *app) shardCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "shard", Short: "shard placement"}
	setHome := &cobra.Command{
		Use:   "set-home SHARD SITE",
		Short: "set the site whose voter should lead the shard (leadership moves there online)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "1" {
				return usagef("shard %q: only shard 1 exists", args[0])
			}
			site := args[1]
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			members, err := c.MemberList(cmd.Context())
			if err != nil {
				return err
			}
			found := false
			for _, m := range members {
				found = found || (m.Site == site && !m.Learner)
			}
			if !found {
				return fmt.Errorf("set-home: no voter at site %q", site)
			}
			if _, err := c.Mutate(cmd.Context(), &pb.Command{Op: &pb.Command_SetHome{SetHome: &pb.SetHome{Site: site}}}); err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(map[string]any{"shard": 1, "home_site": site})
			}
			_, err = fmt.Fprintf(a.stdout, "shard 1: home site %s\n", site)
			return err
		},
	}
	cmd.AddCommand(setHome)
	return cmd
}
