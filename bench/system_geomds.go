package main

import (
	"context"

	"github.com/geomds/geomds/client"
)

// geomdsSystem drives a geomds cluster through the Go client, one Client
// (own connections, own client ID) per benchmark client, or one Client for
// all of them when shared (the Client then batches their concurrent calls).
type geomdsSystem struct {
	cluster *geomdsCluster
	shared  bool
}

type geomdsSession struct {
	tag     string
	clients []*client.Client
}

var _ system = geomdsSystem{}

func (geomdsSystem) name() string { return "geomds" }

func (s geomdsSystem) pids() []int { return s.cluster.procs.pids() }

func (s geomdsSystem) open(ctx context.Context, tag string, n int) (session, error) {
	gs := &geomdsSession{tag: tag, clients: make([]*client.Client, n)}
	for w := range n {
		if s.shared && w > 0 {
			gs.clients[w] = gs.clients[0]
			continue
		}
		c, err := s.cluster.newClient(ctx)
		if err != nil {
			gs.close()
			return nil, err
		}
		gs.clients[w] = c
	}
	err := forEach(n, func(w int) error {
		return gs.clients[w].MkdirAll(ctx, workerDir(tag, w), 0o755)
	})
	if err != nil {
		gs.close()
		return nil, err
	}
	return gs, nil
}

// create makes an empty regular file; an existing one is an error.
func (gs *geomdsSession) create(ctx context.Context, w, j int) error {
	_, err := gs.clients[w].Create(ctx, entryPath(gs.tag, w, j), 0o644, true)
	return err
}

// stat is a STRONG (linearizable) path stat.
func (gs *geomdsSession) stat(ctx context.Context, w, j int) error {
	_, err := gs.clients[w].Stat(ctx, entryPath(gs.tag, w, j))
	return err
}

func (gs *geomdsSession) close() {
	for w, c := range gs.clients {
		if c != nil && (w == 0 || c != gs.clients[0]) {
			c.Close() //nolint:errcheck // the level is over
		}
	}
}
