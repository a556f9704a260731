package main

import (
	"github.com/spf13/cobra"
)

func (a *app) lnCommand() *cobra.Command {
	var symbolic bool
	cmd := &cobra.Command{
		Use: "ln [-s] TARGET LINK", Short: "make a hard link, or with -s a symlink (TARGET kept verbatim)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			link := intoDir(ctx, c, args[0], absPath(args[1]))
			if symbolic {
				return c.Symlink(ctx, args[0], link)
			}
			return c.Link(ctx, absPath(args[0]), link)
		},
	}
	cmd.Flags().BoolVarP(&symbolic, "symbolic", "s", false, "make a symbolic link")
	return cmd
}
