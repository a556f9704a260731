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
	var tidyCutoff time.Time
	s.Tidy = func(cutoff time.Time) (int, error) { tidyCutoff = cutoff; return 2, nil }
	res, err := s.RunOnce(context.Background())
	want1 := SweepResult{Old: 2*len(want) - 1, Queued: len(want), TempRemoved: 2}
	if err != nil || res != want1 {
		t.Fatalf("RunOnce = %+v, %v; want %+v", res, err, want1)
	}
	if !tidyCutoff.Equal(now.Add(-time.Hour)) {
		t.Errorf("temporary files tidied before %v, want the grace cutoff %v", tidyCutoff, now.Add(-time.Hour))
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
	if res, err := s.RunOnce(context.Background()); err != nil || res.Queued != 0 || len(f.swept) != 0 {
		t.Fatalf("second pass: %+v, %d sweeps, %v; want nothing queued", res, len(f.swept), err)
	}
}

// TestSweeperListFailure: a failed listing is reported, with what was
// queued before it.
func TestSweeperListFailure(t *testing.T) {
	now := time.Now()
	broken := errors.New("bucket unreachable")
	f := &fakeSite{mod: map[string]time.Time{"a": now.Add(-48 * time.Hour)}, known: map[string]bool{}, listErr: broken}
	res, err := f.sweeper(now, 0).RunOnce(context.Background())
	if !errors.Is(err, broken) || res.Queued != 0 {
		t.Fatalf("RunOnce = %+v, %v; want nothing queued, %v", res, err, broken)
	}
	f.listErr = nil
	if res, err := f.sweeper(now, 0).RunOnce(context.Background()); err != nil || res.Queued != 1 {
		t.Fatalf("after the store recovered: %+v, %v; want 1 queued (default grace 24 h)", res, err)
	}
}
