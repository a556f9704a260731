package main

import (
	"sync/atomic"

	"github.com/spf13/cobra"
)

func (a *app) rmCommand() *cobra.Command {
	var recursive bool
	cmd := &cobra.Command{
		Use:   "rm [-r] PATH...",
		Short: "remove files and empty directories; with -r, whole trees",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return a.each(args, func(p string) error {
				p = absPath(p)
				if !recursive {
					return c.Remove(ctx, p)
				}
				// Unlike RemoveAll, a missing path is an error.
				var done atomic.Int64
				stop := a.counter("removed", "entries", &done)
				defer stop()
				return c.RemoveTreeProgress(ctx, p, func(n int) { done.Add(int64(n)) })
			})
		},
	}
	cmd.Flags().BoolVarP(&recursive, "recursive", "r", false, "remove directories and their contents")
	return cmd
}
