package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/geomds/geomds/server"
)

func devCmd() *cobra.Command {
	var dir, sites, rtt, host, logLevel, logFormat, mountDir, minFree string
	var basePort int
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "run a whole multi-site cluster in one process (data kept under --dir)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			siteList := strings.Split(sites, ",")
			if len(siteList) == 0 || siteList[0] == "" {
				return fmt.Errorf("--sites: at least one site")
			}
			matrix, err := server.ParseRTT(rtt)
			if err != nil {
				return err
			}
			logger, err := newLogger(logLevel, logFormat)
			if err != nil {
				return err
			}
			var peers []server.Peer
			for i, s := range siteList {
				siteList[i] = strings.TrimSpace(s)
				peers = append(peers, server.Peer{Name: fmt.Sprintf("n%d", i+1), Site: siteList[i], Address: fmt.Sprintf("%s:%d", host, basePort+i)})
			}
			wan := server.NewWAN(matrix) // shared: the console cuts and heals it
			var nodes []*server.Node
			stopAll := func() {
				for i := len(nodes) - 1; i >= 0; i-- {
					nodes[i].Stop()
				}
			}
			minFreeBytes, err := parseBytes(minFree)
			if err != nil {
				return fmt.Errorf("--min-free-space: %w", err)
			}
			for _, p := range peers {
				n, err := server.Start(cmd.Context(), server.Config{
					Name: p.Name, Site: p.Site, DataDir: filepath.Join(dir, p.Name), Listen: p.Address,
					InitialCluster: peers, WAN: wan,
					ChunkStore:   devChunkStore(dir, p.Site),
					MinFreeSpace: minFreeBytes,
					Logger:       logger.With("node", p.Name),
				})
				if err != nil {
					stopAll()
					return fmt.Errorf("start %s: %w", p.Name, err)
				}
				nodes = append(nodes, n)
			}
			var eps []string
			fmt.Println("geomds dev cluster (Ctrl-C stops it; data in " + dir + ")")
			for _, p := range peers {
				fmt.Printf("  %s  site %-6s %s\n", p.Name, p.Site, p.Address)
				eps = append(eps, p.Address)
			}
			if len(matrix) > 0 {
				fmt.Println("  emulated RTT:", matrix)
			}
			fmt.Printf("\nexport GEOMDS_ENDPOINTS=%s\n", strings.Join(eps, ","))
			unmount := func() {}
			if mountDir != "" {
				if unmount, err = mountDev(cmd.Context(), mountDir, eps, siteList[0], devChunkStore(dir, siteList[0])); err != nil {
					stopAll()
					return err
				}
				fmt.Printf("mounted at %s (site %s)\n", mountDir, siteList[0])
			}
			if len(siteList) > 1 {
				fmt.Println("console: type `help`; `cut west east` splits two sites, `heal` joins them")
				go devConsole(os.Stdin, os.Stdout, wan, siteList)
			}
			<-cmd.Context().Done()
			unmount() // before the nodes stop, so the kernel's last requests are answered
			fmt.Fprintln(os.Stderr, "stopping…")
			stopAll()
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dir, "dir", "geomds-dev", "directory for all nodes' data (kept; a restart resumes)")
	fl.StringVar(&sites, "sites", "east,west,north", "one node per site")
	fl.StringVar(&rtt, "rtt", "", "emulate WAN round trips: SITE-SITE=DURATION,... e.g. east-west=30ms,east-north=40ms,west-north=35ms")
	fl.StringVar(&host, "host", "127.0.0.1", "address to listen on")
	fl.IntVar(&basePort, "port", 7001, "first node's port; the others follow")
	addMinFreeFlag(fl, &minFree)
	fl.StringVar(&mountDir, "mount", "", "also mount the namespace at this directory (FUSE), as a client at the first site")
	addLogFlags(fl, &logLevel, &logFormat)
	fl.Lookup("log-level").DefValue = "warn"
	_ = fl.Set("log-level", "warn")
	return cmd
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// devChunkStore is the chunk store URL of a dev cluster's site.
func devChunkStore(dir, site string) string {
	return "file://" + mustAbs(filepath.Join(dir, "chunks-"+site))
}
