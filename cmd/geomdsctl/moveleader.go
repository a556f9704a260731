package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) moveLeaderCommand() *cobra.Command {
	var shard uint64
	cmd := &cobra.Command{
		Use: "move-leader NAME", Short: "transfer a shard's leadership to the node NAME", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			if err := c.TransferLeader(cmd.Context(), shard, args[0]); err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(map[string]any{"shard": shard, "leader": args[0]})
			}
			_, err = fmt.Fprintf(a.stdout, "shard %d: leadership moved to %s\n", shard, args[0])
			return err
		},
	}
	cmd.Flags().Uint64Var(&shard, "shard", 1, "the shard")
	return cmd
}
