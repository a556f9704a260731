package chunk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"gocloud.dev/blob"
)

// Put stores the chunk id from r, which must yield exactly size bytes whose
// SHA-256 is sum. The chunk becomes visible only after both checks pass;
// otherwise the write is aborted and nothing is stored. On file:// the data
// and its directory entry are on disk when Put returns.
func (s *Store) Put(ctx context.Context, id string, size uint64, sum []byte, r io.Reader) error {
	if err := checkPut(id, size, sum); err != nil {
		return err
	}
	// Cancelling wctx before Close is gocloud's way to abort a write: fileblob
	// removes its temporary file, s3blob abandons the upload.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var f *os.File // the temporary file, on file:// only
	w, err := s.bucket.NewWriter(wctx, id, &blob.WriterOptions{
		ContentType: "application/octet-stream", // also disables sniffing, so the writer opens now
		Metadata:    map[string]string{sumKey: hex.EncodeToString(sum)},
		BeforeWrite: func(as func(any) bool) error { as(&f); return nil },
	})
	if err != nil {
		return wrap("put", id, err)
	}
	if err := copyVerified(w, r, size, sum); err != nil {
		cancel()
		_ = w.Close()
		return fmt.Errorf("put %s: %w", id, err)
	}
	if f != nil {
		if err := f.Sync(); err != nil {
			cancel()
			_ = w.Close()
			return fmt.Errorf("put %s: sync: %w", id, err)
		}
	}
	if err := w.Close(); err != nil {
		return wrap("put", id, err)
	}
	if s.dir != "" {
		return syncDir(s.dir)
	}
	return nil
}

func checkPut(id string, size uint64, sum []byte) error {
	if err := ValidID(id); err != nil {
		return err
	}
	if size > MaxChunkSize {
		return fmt.Errorf("put %s: %w: %d bytes > %d", id, ErrTooLarge, size, MaxChunkSize)
	}
	if len(sum) != sha256.Size {
		return fmt.Errorf("put %s: %w: sha256 has %d bytes", id, ErrChecksum, len(sum))
	}
	return nil
}

// copyVerified copies r to w, reading at most size+1 bytes so a long stream
// is caught without reading it all, and checks the count and the sum.
func copyVerified(w io.Writer, r io.Reader, size uint64, sum []byte) error {
	h := sha256.New()
	n, err := io.Copy(w, io.TeeReader(io.LimitReader(r, int64(size)+1), h))
	if err != nil {
		return err
	}
	if uint64(n) > size {
		return fmt.Errorf("%w: got more than %d bytes", ErrSize, size)
	}
	if uint64(n) < size {
		return fmt.Errorf("%w: got %d bytes, want %d", ErrSize, n, size)
	}
	if got := h.Sum(nil); !bytes.Equal(got, sum) {
		return fmt.Errorf("%w: got %x, want %x", ErrChecksum, got, sum)
	}
	return nil
}
