package main

import (
	"context"
	"path"

	"github.com/geomds/geomds/client"
	"github.com/spf13/cobra"
)

func (a *app) mvCommand() *cobra.Command {
	var noClobber bool
	cmd := &cobra.Command{
		Use: "mv FROM TO", Short: "rename; into TO when TO is a directory", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			from := absPath(args[0])
			to := intoDir(cmd.Context(), c, from, absPath(args[1]))
			var flags uint32
			if noClobber {
				flags = client.RenameNoReplace
			}
			return c.Rename(cmd.Context(), from, to, flags)
		},
	}
	cmd.Flags().BoolVarP(&noClobber, "no-clobber", "n", false, "fail instead of replacing an existing TO")
	return cmd
}

// intoDir returns dst/base(src) when dst is an existing directory (as mv and
// ln do), else dst.
func intoDir(ctx context.Context, c *client.Client, src, dst string) string {
	if attr, err := c.Stat(ctx, dst); err == nil && attr.GetMode()&client.ModeType == client.ModeDir {
		return path.Join(dst, path.Base(src))
	}
	return dst
}
