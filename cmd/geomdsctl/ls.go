package main

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/spf13/cobra"
)

func (a *app) lsCommand() *cobra.Command {
	var long bool
	cmd := &cobra.Command{
		Use: "ls [-l] [PATH]", Short: "list a directory", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := "/"
			if len(args) == 1 {
				p = absPath(args[0])
			}
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			entries, err := listing(cmd.Context(), c, p, long || a.json())
			if err != nil {
				return err
			}
			return a.printListing(p, entries, long)
		},
	}
	cmd.Flags().BoolVarP(&long, "long", "l", false, "long format: mode, links, owner, group, size, mtime")
	return cmd
}

// listing returns the entries of p sorted by name, or p itself when it is
// not a directory; withTargets reads symlink targets.
func listing(ctx context.Context, c *client.Client, p string, withTargets bool) ([]longEntry, error) {
	ents, err := c.ReadDir(ctx, p)
	if client.ErrnoOf(err) == pb.Errno_ENOTDIR {
		attr, err := c.Lstat(ctx, p)
		if err != nil {
			return nil, err
		}
		ents = []*pb.DirEntry{{Name: p, Ino: attr.GetIno(), Mode: attr.GetMode(), Attr: attr}}
	} else if err != nil {
		return nil, err
	}
	out := make([]longEntry, 0, len(ents))
	for _, e := range ents {
		le := longEntry{name: e.GetName(), attr: e.GetAttr()}
		if le.attr == nil {
			le.attr = &pb.Attr{Ino: e.GetIno(), Mode: e.GetMode()}
		}
		if withTargets && le.attr.GetMode()&client.ModeType == client.ModeSymlink {
			full := le.name
			if !strings.HasPrefix(full, "/") {
				full = path.Join(p, le.name)
			}
			le.target, _ = c.ReadLink(ctx, full) // a link removed meanwhile shows no target
		}
		out = append(out, le)
	}
	slices.SortFunc(out, func(x, y longEntry) int { return strings.Compare(x.name, y.name) })
	return out, nil
}

func (a *app) printListing(p string, entries []longEntry, long bool) error {
	if a.json() {
		out := struct {
			Path    string     `json:"path"`
			Entries []attrJSON `json:"entries"`
		}{Path: p, Entries: []attrJSON{}}
		for _, e := range entries {
			j := toAttrJSON(e.attr)
			j.Name, j.Target = e.name, e.target
			out.Entries = append(out.Entries, j)
		}
		return a.printJSON(out)
	}
	lines := make([]string, len(entries))
	if long {
		lines = formatLong(entries, a.now())
	} else {
		for i, e := range entries {
			lines[i] = e.name
		}
	}
	for _, l := range lines {
		if _, err := fmt.Fprintln(a.stdout, l); err != nil {
			return err
		}
	}
	return nil
}
