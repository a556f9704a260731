package main

import (
	"strconv"

	"github.com/geomds/geomds/client"
	"github.com/spf13/cobra"
)

func (a *app) chmodCommand() *cobra.Command {
	return &cobra.Command{
		Use: "chmod MODE PATH...", Short: "change permissions (octal, or symbolic like u+x,go-w)", Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec := args[0]
			if _, err := parseMode(spec, 0, false); err != nil {
				return err
			}
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			_, octalErr := strconv.ParseUint(spec, 8, 32)
			return a.each(args[1:], func(p string) error {
				p = absPath(p)
				var cur uint32
				if octalErr != nil { // symbolic: relative to the current mode
					attr, err := c.Stat(ctx, p)
					if err != nil {
						return err
					}
					cur = attr.GetMode()
				}
				mode, err := parseMode(spec, cur, cur&client.ModeType == client.ModeDir)
				if err != nil {
					return err
				}
				return c.Chmod(ctx, p, mode)
			})
		},
	}
}
