package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/geomds/geomds/client"
)

// errFsckFailed makes fsck exit 1 after printing its report.
var errFsckFailed = errors.New("fsck: the namespace is not clean")

func (a *app) fsckCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "fsck",
		Short: "check every replica: namespace invariants, and equal digests at equal applied indexes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			rep, err := c.Fsck(cmd.Context())
			if err != nil {
				return err
			}
			if a.json() {
				err = a.printJSON(fsckJSON(rep))
			} else {
				err = a.writeFsck(rep)
			}
			if err != nil {
				return err
			}
			if !rep.Clean() {
				return errFsckFailed
			}
			return nil
		},
	}
}

func (a *app) writeFsck(rep *client.FsckReport) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tAPPLIED\tDIGEST\tRESULT")
	for _, n := range rep.Nodes {
		result := "clean"
		switch {
		case n.Err != nil:
			result = "unreachable: " + n.Err.Error()
		case len(n.Violations) > 0:
			result = fmt.Sprintf("%d violations", len(n.Violations))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", n.Name, n.Applied, shortHex(n.Digest), result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range rep.Nodes {
		for _, v := range n.Violations {
			fmt.Fprintf(a.stdout, "%s: %s\n", n.Name, v)
		}
	}
	for _, m := range rep.Mismatches {
		fmt.Fprintln(a.stdout, "mismatch:", m)
	}
	switch {
	case rep.Compared == 0:
		fmt.Fprintln(a.stdout, "no two replicas were at the same applied index; digests not compared")
	case len(rep.Mismatches) == 0:
		fmt.Fprintf(a.stdout, "replicas at index %d agree\n", rep.Compared)
	}
	return nil
}

func shortHex(b []byte) string {
	if len(b) > 8 {
		b = b[:8]
	}
	return hex.EncodeToString(b)
}

func fsckJSON(rep *client.FsckReport) map[string]any {
	var nodes []map[string]any
	for _, n := range rep.Nodes {
		m := map[string]any{"name": n.Name, "applied": n.Applied, "digest": hex.EncodeToString(n.Digest), "violations": n.Violations}
		if n.Err != nil {
			m["error"] = n.Err.Error()
		}
		nodes = append(nodes, m)
	}
	return map[string]any{"clean": rep.Clean(), "compared_at": rep.Compared, "mismatches": rep.Mismatches, "nodes": nodes}
}
