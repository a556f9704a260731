package chunk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Defaults of a Collector's zero fields.
const (
	defaultInterval    = 10 * time.Second
	defaultLimit       = 256
	defaultParallelism = 8
)

// Collector deletes the blobs of chunks that the metadata no longer
// references, then confirms them so the metadata forgets them. Its inputs
// are functions so it needs neither the replica nor the network:
//
//   - Pending returns up to limit queued chunks with IDs after after, in ID
//     order (namespace.PendingChunkDeletes on the leader), each with the
//     sites that hold it.
//   - Delete deletes one chunk at one site (the local Store, or DeleteRemote
//     to a node of that site); a missing chunk must not be an error.
//   - Confirm proposes DropChunks for ids.
//
// An ID is confirmed only when Delete succeeded at every site of its
// ChunkRef; otherwise it stays queued and a later pass retries it. Passes
// go through the queue page by page and start over at its end, so chunks
// that keep failing (a site gone for good) cannot hold back the rest.
type Collector struct {
	Pending func(ctx context.Context, after string, limit int) ([]*pb.ChunkRef, error)
	Delete  func(ctx context.Context, site, id string) error
	Confirm func(ctx context.Context, ids []string) error
	// Interval is the pause between passes once the queue is drained or a
	// pass made no progress (default 10 s).
	Interval time.Duration
	// Limit is the most chunks one pass takes (default 256).
	Limit int
	// Parallelism bounds concurrent Delete calls (default 8), so far sites
	// cost round trips in parallel, not in series.
	Parallelism int
	// Logger receives pass failures (default slog.Default()).
	Logger *slog.Logger

	// after is the last ID of the previous pass's page when that page was
	// full (more may follow); "" starts at the head of the queue.
	after string
}

// RunOnce makes one pass over the next page of the queue: it deletes its
// chunks everywhere and confirms the ones deleted at every site. It returns
// the number confirmed and the failures joined; a failed Delete leaves its
// ID for a later pass. Not safe for concurrent use.
func (c *Collector) RunOnce(ctx context.Context) (int, error) {
	limit := orDefault(c.Limit, defaultLimit)
	refs, err := c.Pending(ctx, c.after, limit)
	if err != nil {
		return 0, fmt.Errorf("collect: pending: %w", err)
	}
	c.after = ""
	if len(refs) == limit {
		c.after = refs[len(refs)-1].GetId()
	}
	done, errs := c.deleteAll(ctx, refs)
	var ids []string
	for i, ref := range refs {
		if done[i] {
			ids = append(ids, ref.GetId())
		}
	}
	if len(ids) > 0 {
		if err := c.Confirm(ctx, ids); err != nil {
			return 0, errors.Join(append(errs, fmt.Errorf("collect: confirm: %w", err))...)
		}
	}
	return len(ids), errors.Join(errs...)
}

// deleteAll deletes every ref at every site, at most Parallelism at a
// time; done[i] reports that refs[i] is gone everywhere.
func (c *Collector) deleteAll(ctx context.Context, refs []*pb.ChunkRef) ([]bool, []error) {
	done := make([]bool, len(refs))
	for i := range done {
		done[i] = true
	}
	var (
		mu   sync.Mutex // guards done and errs
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, orDefault(c.Parallelism, defaultParallelism))
	for i, ref := range refs {
		for _, site := range ref.GetSites() {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				if err := c.Delete(ctx, site, ref.GetId()); err != nil {
					mu.Lock()
					done[i] = false
					errs = append(errs, fmt.Errorf("collect: delete %s at %s: %w", ref.GetId(), site, err))
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	return done, errs
}

// Run makes passes until ctx is done: at once again after a full page,
// otherwise (the end of the queue) after Interval. Failures are logged and retried.
func (c *Collector) Run(ctx context.Context) {
	log := loggerOr(c.Logger)
	runPasses(ctx, 0, func() time.Duration {
		n, err := c.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("chunk collector pass failed", "confirmed", n, "err", err)
		case n > 0:
			log.Info("chunks collected", "count", n)
		}
		if c.after != "" {
			return 0 // a full page: more are queued after it
		}
		return orDefault(c.Interval, defaultInterval)
	})
}

// runPasses calls pass until ctx is done: first after first, then each
// time after the wait the previous pass returned.
func runPasses(ctx context.Context, first time.Duration, pass func() (wait time.Duration)) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(pass())
	}
}

// loggerOr is l, or slog's default when nil.
func loggerOr(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
