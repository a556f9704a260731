package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/geomds/geomds/chunkstore"
	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const defaultEndpoints = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003"

// app holds the global flags and the lazily created client of one run.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) (string, bool)
	now            func() time.Time

	endpoints    string
	site         string
	consistency  string
	maxStaleness time.Duration
	output       string
	timeout      time.Duration
	explain      bool
	chunkStore   string // URL of the caller's site chunk store, for direct chunk I/O

	store *chunkstore.Store // opened from chunkStore with the client

	errMu sync.Mutex // serializes lines written to stderr (explain, bench)
	c     *client.Client
}

func newApp(stdout, stderr io.Writer) *app {
	return &app{stdout: stdout, stderr: stderr, getenv: os.LookupEnv, now: time.Now}
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "geomdsctl",
		Short: "geomds admin and user CLI",
		Long: "geomdsctl talks to a geomds cluster. Every global flag can also be set by the\n" +
			"environment variable GEOMDS_<FLAG> (GEOMDS_ENDPOINTS, GEOMDS_SITE, ...).",
		SilenceErrors:     true,
		SilenceUsage:      true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return a.prepare(cmd.Root().PersistentFlags()) },
	}
	f := root.PersistentFlags()
	f.StringVar(&a.endpoints, "endpoints", defaultEndpoints, "comma-separated host:port of geomds nodes")
	f.StringVar(&a.site, "site", "", "the caller's site (same-site nodes serve first)")
	f.StringVar(&a.consistency, "consistency", "strong", "read consistency: strong|session|stale")
	f.DurationVar(&a.maxStaleness, "max-staleness", time.Second, "how old a stale read may be")
	f.StringVarP(&a.output, "output", "o", "text", "output format: text|json")
	f.DurationVar(&a.timeout, "timeout", 30*time.Second, "timeout of each request, retries included")
	f.BoolVar(&a.explain, "explain", false, "print one line per RPC to stderr: method, node@site, duration")
	f.StringVar(&a.chunkStore, "chunk-store", "", "URL of the --site's chunk store (the one its nodes use) to read and write chunks directly, not through a node")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(a.statusCommand(), a.membersCommand(), a.moveLeaderCommand(),
		a.lsCommand(), a.statCommand(), a.mkdirCommand(), a.touchCommand(), a.rmCommand(),
		a.mvCommand(), a.lnCommand(), a.readlinkCommand(), a.chmodCommand(), a.chownCommand(),
		a.xattrCommand(), a.benchCommand(), a.snapshotCommand(), a.shardCommand(),
		mountCmd(func(cmd *cobra.Command) (*client.Client, error) { return a.client(cmd.Context()) }),
		a.putCommand(), a.getCommand(), a.catCommand(), a.fsckCommand())
	return root
}

// prepare applies the environment to global flags not given on the command
// line, then checks them.
func (a *app) prepare(flags *pflag.FlagSet) error {
	var err error
	flags.VisitAll(func(fl *pflag.Flag) {
		if fl.Changed || err != nil {
			return
		}
		if v, ok := a.getenv(envName(fl.Name)); ok && v != "" {
			if e := fl.Value.Set(v); e != nil {
				err = usagef("%s=%q: %v", envName(fl.Name), v, e)
			}
		}
	})
	if err != nil {
		return err
	}
	if _, e := parseConsistency(a.consistency); e != nil {
		return e
	}
	if a.output != "text" && a.output != "json" {
		return usagef("--output %q: want text or json", a.output)
	}
	if a.chunkStore != "" && a.site == "" {
		return usagef("--chunk-store needs --site: the site whose store it is")
	}
	return nil
}

// groupCommand is a command that only holds subcommands; run alone or with
// an unknown subcommand it is a usage error.
func groupCommand(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return usagef("%s needs a subcommand", cmd.CommandPath())
		}}
	cmd.AddCommand(subs...)
	return cmd
}

// envName is the variable mirroring a global flag: --max-staleness is
// GEOMDS_MAX_STALENESS.
func envName(flag string) string {
	return "GEOMDS_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func parseConsistency(s string) (pb.Consistency, error) {
	switch strings.ToLower(s) {
	case "strong":
		return pb.Consistency_STRONG, nil
	case "session":
		return pb.Consistency_SESSION, nil
	case "stale":
		return pb.Consistency_STALE, nil
	}
	return 0, usagef("--consistency %q: want strong, session or stale", s)
}

// config is the client configuration the global flags describe.
func (a *app) config() client.Config {
	cons, _ := parseConsistency(a.consistency) // checked by prepare
	cfg := client.Config{Endpoints: strings.Split(a.endpoints, ","), Site: a.site,
		Consistency: cons, MaxStaleness: a.maxStaleness, RequestTimeout: a.timeout}
	if a.explain {
		cfg.Explain = a.explainLine
	}
	return cfg
}

// client returns the run's client, connecting on first use.
func (a *app) client(ctx context.Context) (*client.Client, error) {
	if a.c == nil {
		cfg := a.config()
		if a.chunkStore != "" {
			st, err := chunkstore.Open(ctx, a.chunkStore, a.site)
			if err != nil {
				return nil, fmt.Errorf("--chunk-store: %w", err)
			}
			a.store, cfg.ChunkStore = st, st
		}
		c, err := client.New(ctx, cfg)
		if err != nil {
			return nil, err
		}
		a.c = c
	}
	return a.c, nil
}

func (a *app) close() {
	if a.c != nil {
		a.c.Close() //nolint:errcheck // closing connections of a finished run
	}
	if a.store != nil {
		a.store.Close() //nolint:errcheck // nothing is written after the run
	}
}

func (a *app) json() bool { return a.output == "json" }

// printJSON writes v as one indented JSON document.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// warn prints one line to stderr.
func (a *app) warn(format string, args ...any) {
	a.errMu.Lock()
	defer a.errMu.Unlock()
	fmt.Fprintf(a.stderr, format+"\n", args...)
}

// explainLine prints one RPC attempt for --explain.
func (a *app) explainLine(t client.Trace) {
	a.warn("%s", formatTrace(t))
}

func formatTrace(t client.Trace) string {
	who := t.Endpoint
	if t.Node != "" {
		who = t.Node + "@" + t.Site
	}
	line := fmt.Sprintf("explain: %s %s %v", t.Method, who, t.Duration.Round(time.Microsecond))
	if t.Node != "" {
		line += fmt.Sprintf(" (server %v, transport %v) %s wan-round-trips=%d", t.ServerTime.Round(time.Microsecond),
			(t.Duration - t.ServerTime).Round(time.Microsecond), t.Consistency.String(), t.WANRoundTrips)
		if t.Staleness > 0 {
			line += fmt.Sprintf(" stale<=%v", t.Staleness)
		}
	}
	if t.Attempt > 0 {
		line += fmt.Sprintf(" attempt=%d", t.Attempt+1)
	}
	if t.Err != nil {
		line += " error: " + t.Err.Error()
	}
	return line
}

// each runs fn for every path, printing each failure; it fails when any did.
func (a *app) each(paths []string, fn func(path string) error) error {
	failed := false
	for _, p := range paths {
		if err := fn(p); err != nil {
			a.warn("geomdsctl: %v", err)
			failed = true
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// absPath makes a command-line path absolute: the namespace has no working
// directory, so a relative path starts at /.
func absPath(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	return "/" + p
}
