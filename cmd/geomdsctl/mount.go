package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/geomds/geomds/client"
	"github.com/geomds/geomds/client/fusefs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/spf13/cobra"
)

// unmountTries is how often a busy mount is retried, unmountPause apart,
// before it is detached lazily (it goes once its last user leaves).
const (
	unmountTries = 10
	unmountPause = 500 * time.Millisecond
)

// mountCmd is `geomdsctl mount DIR`: it serves the namespace at DIR in the
// foreground until SIGINT or SIGTERM, then unmounts.
func mountCmd(newClient func(cmd *cobra.Command) (*client.Client, error)) *cobra.Command {
	var opts fusefs.Options
	var pprofAddr string
	cmd := &cobra.Command{
		Use:   "mount DIR",
		Short: "mount the namespace at DIR (foreground; Ctrl-C unmounts)",
		Long: "mount serves the namespace as a FUSE file system at DIR until SIGINT or SIGTERM.\n" +
			"Each request acts as the calling process's user. File data is visible to other\n" +
			"clients once the writer closes or fsyncs (close-to-open).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			describeClient(cmd, &opts)
			if err := servePprof(cmd, pprofAddr); err != nil {
				return err
			}
			return serveMount(cmd, c, args[0], opts)
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&opts.AttrTimeout, "attr-cache", time.Second, "how long the kernel caches attributes (0 = not at all)")
	fl.DurationVar(&opts.EntryTimeout, "entry-cache", time.Second, "how long the kernel caches names (0 = not at all)")
	fl.BoolVar(&opts.AllowOther, "allow-other", false, "let other users use the mount (non-root needs user_allow_other in /etc/fuse.conf)")
	fl.BoolVar(&opts.Debug, "debug", false, "log every FUSE request to stderr")
	fl.StringVar(&pprofAddr, "pprof", "", "serve /debug/pprof at HOST:PORT (debugging)")
	_ = fl.MarkHidden("pprof")
	return cmd
}

// servePprof serves the runtime profiles at addr ("" = off) for the life of
// the process, so the mount's CPU time can be profiled under load.
func servePprof(cmd *cobra.Command, addr string) error {
	if addr == "" {
		return nil
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	fmt.Fprintf(cmd.ErrOrStderr(), "pprof at http://%s/debug/pprof/\n", lis.Addr())
	return nil
}

// describeClient records the global --site and --consistency in opts.
func describeClient(cmd *cobra.Command, opts *fusefs.Options) {
	if f := cmd.Flag("site"); f != nil {
		opts.Site = f.Value.String()
	}
	if f := cmd.Flag("consistency"); f != nil {
		if c, err := parseConsistency(f.Value.String()); err == nil {
			opts.Consistency = c
		}
	}
	// The flags say 0 for "no caching"; fusefs says negative.
	for _, d := range []*time.Duration{&opts.AttrTimeout, &opts.EntryTimeout} {
		if *d == 0 {
			*d = -1
		}
	}
}

// serveMount mounts, waits for a signal or an outside unmount, and
// unmounts.
func serveMount(cmd *cobra.Command, c *client.Client, dir string, opts fusefs.Options) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	srv, err := fusefs.Mount(mctx, dir, c, opts)
	cancel()
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "geomds mounted at %s (Ctrl-C unmounts)\n", dir)
	served := make(chan struct{})
	go func() {
		srv.Wait()
		close(served)
	}()
	select {
	case <-served: // unmounted from outside
	case <-ctx.Done():
		unmount(cmd, srv, dir)
		<-served
	}
	// Handles still open when a lazy unmount went through die with the
	// session; end it now rather than at its timeout.
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer ccancel()
	_ = c.CloseSession(cctx)
	return nil
}

// unmount unmounts dir, retrying while it is busy, then detaches it lazily.
func unmount(cmd *cobra.Command, srv *fuse.Server, dir string) {
	var err error
	for i := 0; i < unmountTries; i++ {
		if err = srv.Unmount(); err == nil {
			return
		}
		time.Sleep(unmountPause)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "geomdsctl: unmount %s: %v; detaching it lazily\n", dir, err)
	if out, err := exec.Command("fusermount3", "-u", "-z", dir).CombinedOutput(); err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "geomdsctl: fusermount3 -u -z %s: %v: %s\n", dir, err, out)
	}
}
