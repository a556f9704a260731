package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/blob"
)

// List calls fn with the ID and last modification time of every chunk in
// the store, in key order, until fn returns an error (which List returns).
// Objects whose names are not chunk IDs (a writer's temporary files) are
// skipped.
func (s *Store) List(ctx context.Context, fn func(id string, mod time.Time) error) error {
	it := s.bucket.List(&blob.ListOptions{})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list chunks: %w", err)
		}
		if obj.IsDir || ValidID(obj.Key) != nil {
			continue
		}
		if err := fn(obj.Key, obj.ModTime); err != nil {
			return err
		}
	}
}

// RemoveStaleTemp removes the temporary files of file:// writes that never
// finished (the writer crashed) and were last modified before cutoff, and
// returns how many it removed. A write takes seconds, so a cutoff hours
// back spares every write under way. Other stores keep no such files
// (s3's abandoned multipart uploads are the bucket's lifecycle rules' job).
func (s *Store) RemoveStaleTemp(cutoff time.Time) (int, error) {
	if s.dir == "" {
		return 0, nil
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, fmt.Errorf("list temporary files: %w", err)
	}
	removed := 0
	for _, e := range ents {
		if !isTemp(e.Name()) {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, os.ErrNotExist) {
			continue // renamed or removed since the listing
		}
		if err != nil {
			return removed, fmt.Errorf("temporary file %s: %w", e.Name(), err)
		}
		if !info.ModTime().Before(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("remove temporary file: %w", err)
		}
		removed++
	}
	return removed, nil
}

// isTemp reports whether name is a fileblob temporary file of a chunk:
// ID.HEX.tmp.
func isTemp(name string) bool {
	rest, ok := strings.CutSuffix(name, ".tmp")
	if !ok {
		return false
	}
	id, stamp, ok := strings.Cut(rest, ".")
	if !ok || stamp == "" || ValidID(id) != nil {
		return false
	}
	_, err := strconv.ParseUint(stamp, 16, 64)
	return err == nil
}
