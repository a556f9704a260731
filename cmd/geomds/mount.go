package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/geomds/geomds/chunkstore"
	"github.com/geomds/geomds/client"
	"github.com/geomds/geomds/client/fusefs"
)

// mountDev mounts the dev cluster at dir; the returned func unmounts it.
func mountDev(ctx context.Context, dir string, endpoints []string, site, chunkStore string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// The mount shares its site's chunk store with the site's node: it
	// writes and reads chunks there itself.
	st, err := chunkstore.Open(cctx, chunkStore, site)
	if err != nil {
		return nil, err
	}
	c, err := client.New(cctx, client.Config{Endpoints: endpoints, Site: site, ChunkStore: st})
	if err != nil {
		st.Close()
		return nil, err
	}
	srv, err := fusefs.Mount(ctx, dir, c, fusefs.Options{Site: site})
	if err != nil {
		c.Close()
		st.Close()
		return nil, fmt.Errorf("mount %s: %w", dir, err)
	}
	return func() {
		for i := 0; i < 10; i++ {
			if srv.Unmount() == nil {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		c.Close()
		st.Close()
	}, nil
}
