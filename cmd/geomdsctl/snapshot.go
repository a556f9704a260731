package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
)

func (a *app) snapshotCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "snapshot", Short: "back up the metadata (restore with `geomds restore`)"}
	save := &cobra.Command{
		Use:   "save FILE",
		Short: "stream a consistent, checksummed snapshot of the metadata from a running cluster into FILE",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			path := args[0]
			tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name()) // after a successful rename this is a no-op
			var last time.Time
			progress := func(n int64) {
				if isTerminal(a.stderr) && time.Since(last) > 200*time.Millisecond {
					last = time.Now()
					a.warn("\rsaving: %.1f MiB", float64(n)/(1<<20))
				}
			}
			info, err := c.SaveSnapshot(cmd.Context(), tmp, progress)
			if err == nil {
				err = tmp.Sync()
			}
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("snapshot save: %w", err)
			}
			if err := os.Rename(tmp.Name(), path); err != nil {
				return err
			}
			if isTerminal(a.stderr) {
				a.warn("\n")
			}
			if a.json() {
				return a.printJSON(map[string]any{"file": path, "index": info.Index, "namespace_digest": info.NamespaceDigest, "node": info.Node, "bytes": info.Bytes})
			}
			_, err = fmt.Fprintf(a.stdout, "saved %s: shard 1 at index %d from %s, %d bytes, namespace digest %s\n", path, info.Index, info.Node, info.Bytes, info.NamespaceDigest)
			return err
		},
	}
	cmd.AddCommand(save)
	return cmd
}
