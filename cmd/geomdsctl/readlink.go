package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) readlinkCommand() *cobra.Command {
	return &cobra.Command{
		Use: "readlink PATH", Short: "print a symlink's target", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			target, err := c.ReadLink(cmd.Context(), absPath(args[0]))
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(map[string]string{"path": absPath(args[0]), "target": target})
			}
			_, err = fmt.Fprintln(a.stdout, target)
			return err
		},
	}
}
