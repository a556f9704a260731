package chunk

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Defaults of a Sweeper's zero fields.
const (
	// DefaultSweepGrace is how long an upload may stay uncommitted before
	// its chunk is swept.
	DefaultSweepGrace    = 24 * time.Hour
	defaultSweepInterval = time.Hour
	// sweepBatch is the most IDs one Sweep proposes (namespace.MaxSweepIDs).
	sweepBatch = 1024
)

// Sweeper deletes, through the collector, the chunks of a site's store that
// no metadata names (see the package doc). Its inputs are functions, as
// the Collector's are:
//
//   - List calls fn for every chunk in the site's store with its last
//     modification time (chunkstore.Store.List).
//   - Unknown returns the IDs the local replica knows neither in use, nor
//     queued, nor swept (namespace.UnknownChunks): a filter that keeps
//     proposals small; the state machine checks again.
//   - Sweep proposes SweepChunks for the site and returns how many chunks
//     it queued.
//   - Tidy, if set, removes the store's temporary files of writes that
//     never finished and were last modified before cutoff
//     (chunkstore.Store.RemoveStaleTemp) and returns how many.
type Sweeper struct {
	List    func(ctx context.Context, fn func(id string, mod time.Time) error) error
	Unknown func(ctx context.Context, ids []string) ([]string, error)
	Sweep   func(ctx context.Context, ids []string) (int, error)
	Tidy    func(cutoff time.Time) (int, error)
	// Grace spares chunks modified less than Grace ago: an upload has that
	// long to be committed (default DefaultSweepGrace).
	Grace time.Duration
	// Interval is the pause between passes (default 1 h).
	Interval time.Duration
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// SweepResult counts what one pass did.
type SweepResult struct {
	Old         int // chunks older than the grace period, looked up
	Queued      int // of those, queued for deletion
	TempRemoved int // temporary files of unfinished writes removed
}

// RunOnce makes one pass over the store.
func (s *Sweeper) RunOnce(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	cutoff := now().Add(-orDefault(s.Grace, DefaultSweepGrace))
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		unknown, err := s.Unknown(ctx, batch)
		batch = batch[:0]
		if err != nil || len(unknown) == 0 {
			return err
		}
		n, err := s.Sweep(ctx, unknown)
		res.Queued += n
		return err
	}
	err := s.List(ctx, func(id string, mod time.Time) error {
		if !mod.Before(cutoff) {
			return nil
		}
		res.Old++
		batch = append(batch, id)
		if len(batch) < sweepBatch {
			return nil
		}
		return flush()
	})
	if err == nil {
		err = flush()
	}
	if err == nil && s.Tidy != nil {
		res.TempRemoved, err = s.Tidy(cutoff)
	}
	if err != nil {
		return res, fmt.Errorf("sweep: %w", err)
	}
	return res, nil
}

// Run makes a pass every Interval, the first one Interval after the start,
// until ctx is done. Failures are logged; the next pass tries again.
func (s *Sweeper) Run(ctx context.Context) {
	log := loggerOr(s.Logger)
	interval := orDefault(s.Interval, defaultSweepInterval)
	runPasses(ctx, interval, func() time.Duration {
		res, err := s.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("chunk sweep failed", "queued", res.Queued, "err", err)
		case res.Queued > 0 || res.TempRemoved > 0:
			log.Info("uncommitted chunks swept", "queued", res.Queued, "looked_at", res.Old,
				"temporary_files_removed", res.TempRemoved)
		}
		return interval
	})
}
