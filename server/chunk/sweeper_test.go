package chunk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// fakeSite is a store listing and the metadata's knowledge for a Sweeper.
type fakeSite struct {
	mod     map[string]time.Time // the store
	known   map[string]bool      // the metadata
	swept   [][]string           // each Sweep's IDs
	listErr error
}

func (f *fakeSite) sweeper(now time.Time, grace time.Duration) *Sweeper {
	return &Sweeper{
		List: func(_ context.Context, fn func(string, time.Time) error) error {
			ids := make([]string, 0, len(f.mod))
			for id := range f.mod {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			for _, id := range ids {
				if err := fn(id, f.mod[id]); err != nil {
					return err
				}
			}
			return f.listErr
		},
		Unknown: func(_ context.Context, ids []string) ([]string, error) {
			var out []string
			for _, id := range ids {
				if !f.known[id] {
					out = append(out, id)
				}
			}
			return out, nil
		},
		Sweep: func(_ context.Context, ids []string) (int, error) {
			f.swept = append(f.swept, slices.Clone(ids))
			for _, id := range ids {
				f.known[id] = true
			}
			return len(ids), nil
		},
		Grace: grace,
		Now:   func() time.Time { return now },
	}
}

// TestSweeperProposesOldUnknownChunks: only chunks older than the grace
// period and unknown to the metadata are proposed, in batches the state
// machine accepts, and a second pass finds nothing new.
func TestSweeperProposesOldUnknownChunks(t *testing.T) {
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	f := &fakeSite{mod: map[string]time.Time{}, known: map[string]bool{}}
	var want []string
	for i := range 2500 {
		id := fmt.Sprintf("c%05d", i)
		switch i % 3 {
		case 0: // old and unknown: an orphan
			f.mod[id] = now.Add(-2 * time.Hour)
			want = append(want, id)
		case 1: // old but in use
			f.mod[id] = now.Add(-2 * time.Hour)
			f.known[id] = true
		case 2: // unknown but within the grace period: an upload under way
			f.mod[id] = now.Add(-59 * time.Minute)
		}
	}
	s := f.sweeper(now, time.Hour)
	old, queued, err := s.RunOnce(context.Background())
	if err != nil || queued != len(want) || old != 2*len(want)-1 {
		t.Fatalf("RunOnce = %d old, %d queued, %v; want %d, %d, nil", old, queued, err, 2*len(want)-1, len(want))
	}
	var got []string
	for _, b := range f.swept {
		if len(b) == 0 || len(b) > sweepBatch {
			t.Errorf("a Sweep of %d IDs; want 1 to %d", len(b), sweepBatch)
		}
		got = append(got, b...)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("swept %d IDs, want %d (first %v)", len(got), len(want), got[:min(3, len(got))])
	}
	f.swept = nil
	if _, queued, err := s.RunOnce(context.Background()); err != nil || queued != 0 || len(f.swept) != 0 {
		t.Fatalf("second pass: %d queued, %d sweeps, %v; want nothing", queued, len(f.swept), err)
	}
}

// TestSweeperListFailure: a failed listing is reported, with what was
// queued before it.
func TestSweeperListFailure(t *testing.T) {
	now := time.Now()
	broken := errors.New("bucket unreachable")
	f := &fakeSite{mod: map[string]time.Time{"a": now.Add(-48 * time.Hour)}, known: map[string]bool{}, listErr: broken}
	_, queued, err := f.sweeper(now, 0).RunOnce(context.Background())
	if !errors.Is(err, broken) || queued != 0 {
		t.Fatalf("RunOnce = %d queued, %v; want 0, %v", queued, err, broken)
	}
	f.listErr = nil
	if _, queued, err := f.sweeper(now, 0).RunOnce(context.Background()); err != nil || queued != 1 {
		t.Fatalf("after the store recovered: %d queued, %v; want 1 (default grace 24 h)", queued, err)
	}
}
