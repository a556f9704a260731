package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/geomds/geomds/client"
	"github.com/geomds/geomds/server"
)

func restoreCmd() *cobra.Command {
	var from, name, site, dataDir, initial, logLevel, logFormat string
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "prepare a node's data dir of a new cluster from a snapshot file",
		Long: `restore prepares the data dir of one node of a NEW cluster from a file saved
with 'geomdsctl snapshot save'. Run it for every node with the same file and
--initial-cluster, then start each node with 'geomds serve' and the same
flags. The new cluster's members get new IDs, so members of the old cluster
cannot join it. A truncated or corrupted file is rejected and nothing is
written.`,
		Example: `  geomds restore --from backup.snap --data-dir /var/lib/geomds --name n1 --site east \
    --initial-cluster n1=east@10.0.0.1:7001,n2=west@10.1.0.1:7001,n3=north@10.2.0.1:7001`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			peers, err := server.ParseInitialCluster(initial)
			if err != nil {
				return err
			}
			logger, err := newLogger(logLevel, logFormat)
			if err != nil {
				return err
			}
			info, r, closer, err := client.OpenSnapshot(from)
			if err != nil {
				return err
			}
			defer closer.Close()
			pr := &progressReader{r: r, total: info.Bytes}
			res, err := server.Restore(server.RestoreConfig{Name: name, Site: site, DataDir: dataDir, InitialCluster: peers, Logger: logger}, pr)
			pr.finish()
			if err != nil {
				return err
			}
			got := hex.EncodeToString(res.NamespaceDigest[:])
			if got != info.NamespaceDigest || res.Index != info.Index {
				return fmt.Errorf("restored state differs from the snapshot: index %d digest %s, snapshot says index %d digest %s", res.Index, got, info.Index, info.NamespaceDigest)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %s into %s: index %d, namespace digest %s (matches the source)\n", from, dataDir, res.Index, got)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&from, "from", "", "snapshot file (from geomdsctl snapshot save)")
	fl.StringVar(&name, "name", "", "this node's name in the new cluster")
	fl.StringVar(&site, "site", "", "this node's site")
	fl.StringVar(&dataDir, "data-dir", "", "the node's data dir (must be empty or absent)")
	fl.StringVar(&initial, "initial-cluster", "", "NAME=SITE@HOST:PORT,... of the new cluster")
	addLogFlags(fl, &logLevel, &logFormat)
	_ = fl.Set("log-level", "warn")
	for _, f := range []string{"from", "name", "site", "data-dir", "initial-cluster"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

// progressReader shows how much of the snapshot has been read, on a
// terminal only.
type progressReader struct {
	r           io.Reader
	total, done int64
	last        time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if onTerminal() && time.Since(p.last) > 200*time.Millisecond {
		p.last = time.Now()
		fmt.Fprintf(os.Stderr, "\rrestoring: %3d%% (%.1f of %.1f MiB)", 100*p.done/max(p.total, 1), float64(p.done)/(1<<20), float64(p.total)/(1<<20))
	}
	return n, err
}

func (p *progressReader) finish() {
	if onTerminal() && !p.last.IsZero() {
		fmt.Fprintln(os.Stderr)
	}
}

func onTerminal() bool {
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
