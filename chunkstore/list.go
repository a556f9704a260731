package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"io"
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
