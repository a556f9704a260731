package main

import (
	"fmt"

	"github.com/geomds/geomds/client"
	"github.com/spf13/cobra"
)

func (a *app) statCommand() *cobra.Command {
	return &cobra.Command{
		Use: "stat PATH", Short: "show a file's attributes (a symlink itself, not its target)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := absPath(args[0])
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			attr, err := c.Lstat(cmd.Context(), p)
			if err != nil {
				return err
			}
			target := ""
			if attr.GetMode()&client.ModeType == client.ModeSymlink {
				if target, err = c.ReadLink(cmd.Context(), p); err != nil {
					return err
				}
			}
			if a.json() {
				j := toAttrJSON(attr)
				j.Path, j.Target = p, target
				return a.printJSON(j)
			}
			_, err = fmt.Fprint(a.stdout, formatStat(p, target, attr, a.now().Location()))
			return err
		},
	}
}
