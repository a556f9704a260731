package main

import (
	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/spf13/cobra"
)

func (a *app) touchCommand() *cobra.Command {
	return &cobra.Command{
		Use: "touch PATH...", Short: "create empty files (mode 0644) or set their times to now", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return a.each(args, func(p string) error {
				p = absPath(p)
				_, err := c.Create(ctx, p, 0o644, true)
				if client.ErrnoOf(err) == pb.Errno_EEXIST {
					_, err = c.SetAttr(ctx, &pb.SetAttr{Path: p, Valid: client.SetAttrAtimeNow | client.SetAttrMtimeNow})
				}
				return err
			})
		},
	}
}
