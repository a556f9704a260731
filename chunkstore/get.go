package chunkstore

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"

	"gocloud.dev/gcerrors"
)

// Get returns a reader of [off, off+length) of the chunk and the chunk's
// whole size; length 0 means to the end, and a range past the end is
// clamped. ErrNotFound when the chunk is missing, ErrRange when off is
// beyond its size. The caller closes the reader.
func (s *Store) Get(ctx context.Context, id string, off, length uint64) (io.ReadCloser, uint64, error) {
	if err := ValidID(id); err != nil {
		return nil, 0, err
	}
	if off > math.MaxInt64 {
		return nil, 0, fmt.Errorf("get %s: %w: offset %d", id, ErrRange, off)
	}
	n := int64(-1) // gocloud's "to the end"
	if length > 0 && length <= math.MaxInt64 {
		n = int64(length)
	}
	r, err := s.bucket.NewRangeReader(ctx, id, int64(off), n, nil)
	if err != nil {
		return s.openFailed(ctx, id, off, err)
	}
	size := uint64(r.Size())
	if off > size {
		_ = r.Close()
		return nil, 0, fmt.Errorf("get %s: %w: offset %d, size %d", id, ErrRange, off, size)
	}
	return r, size, nil
}

// openFailed sorts out a failed range read. Backends differ at the end of a
// chunk (S3 rejects a range starting at or past it, files read nothing), so
// an existing chunk is re-checked against its size: a read starting exactly
// at the end is empty, one starting beyond it is ErrRange.
func (s *Store) openFailed(ctx context.Context, id string, off uint64, err error) (io.ReadCloser, uint64, error) {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, 0, wrap("get", id, err)
	}
	info, serr := s.Stat(ctx, id)
	switch {
	case serr != nil:
		return nil, 0, serr
	case off == info.Size:
		return io.NopCloser(strings.NewReader("")), info.Size, nil
	case off > info.Size:
		return nil, 0, fmt.Errorf("get %s: %w: offset %d, size %d", id, ErrRange, off, info.Size)
	}
	return nil, 0, wrap("get", id, err)
}
