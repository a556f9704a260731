package main

import (
	"context"
	"fmt"
)

// system is one side of the comparison.
type system interface {
	name() string
	// open connects n clients and prepares, untimed, what a level tagged
	// tag needs: each client's own directory (or key prefix) and a warm
	// connection.
	open(ctx context.Context, tag string, n int) (session, error)
	// pids are the system's server processes, for CPU accounting.
	pids() []int
}

// session is n connected clients of one system at one level. Worker w
// creates, then stats, its own entries f0, f1, ... in its own directory.
type session interface {
	create(ctx context.Context, w, j int) error
	stat(ctx context.Context, w, j int) error
	close()
}

// entryPath names entry j of worker w at the level tagged tag; geomds uses
// it as a path and etcd as a key.
func entryPath(tag string, w, j int) string {
	return fmt.Sprintf("%s/f%d", workerDir(tag, w), j)
}

func workerDir(tag string, w int) string {
	return fmt.Sprintf("/bench/%s/w%d", tag, w)
}

// forEach runs fn for 0..n-1 concurrently and returns the first error.
func forEach(n int, fn func(i int) error) error {
	errc := make(chan error, n)
	for i := range n {
		go func() { errc <- fn(i) }()
	}
	var first error
	for range n {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}
