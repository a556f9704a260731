package main

import (
	"github.com/spf13/cobra"
)

func (a *app) mkdirCommand() *cobra.Command {
	var parents bool
	var modeSpec string
	cmd := &cobra.Command{
		Use: "mkdir [-p] [-m MODE] PATH...", Short: "create directories", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			mode, err := parseMode(modeSpec, 0o777, true)
			if err != nil {
				return err
			}
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			return a.each(args, func(p string) error {
				if parents {
					return c.MkdirAll(cmd.Context(), absPath(p), mode)
				}
				_, err := c.Mkdir(cmd.Context(), absPath(p), mode)
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&parents, "parents", "p", false, "create missing parents; no error if it exists")
	cmd.Flags().StringVarP(&modeSpec, "mode", "m", "755", "permissions, octal or symbolic (relative to a=rwx)")
	return cmd
}
