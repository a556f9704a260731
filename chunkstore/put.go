package chunkstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"gocloud.dev/blob"

	"github.com/geomds/geomds/proto/chunksum"
)

// Put stores the chunk id from r, which must yield exactly size bytes whose
// sum (proto/chunksum) is sum. The chunk becomes visible only after both checks pass;
// otherwise the write is aborted and nothing is stored. On file:// the data
// and its directory entry are on disk when Put returns, and the sum is kept
// in an extended attribute where the file system has them.
func (s *Store) Put(ctx context.Context, id string, size uint64, sum []byte, r io.Reader) error {
	if err := checkPut(id, size, sum); err != nil {
		return err
	}
	if s.dir != "" && haveDirectIO && size > 0 && size%directAlign == 0 {
		return s.putWhole(ctx, id, size, sum, r)
	}
	return s.putStream(ctx, id, size, sum, r)
}

// putWhole reads a file:// chunk whole into an aligned buffer, then writes
// it with direct I/O (see PutBytes): the copy into the buffer costs less
// than the kernel's copy into the page cache that it saves.
func (s *Store) putWhole(ctx context.Context, id string, size uint64, sum []byte, r io.Reader) error {
	buf := alignedBuffer(int(size))
	if err := readExactly(r, buf); err != nil {
		return fmt.Errorf("put %s: %w", id, err)
	}
	if err := chunksum.Verify(buf, sum); err != nil {
		return fmt.Errorf("put %s: %w: %v", id, ErrChecksum, err)
	}
	if done, err := s.putDirectIO(ctx, id, sum, buf); done {
		return err
	}
	return s.putStream(ctx, id, size, sum, bytes.NewReader(buf))
}

// readExactly fills buf from r and checks that r has nothing more.
func readExactly(r io.Reader, buf []byte) error {
	n, err := io.ReadFull(r, buf)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: got %d bytes, want %d", ErrSize, n, len(buf))
	}
	if err != nil {
		return err
	}
	var one [1]byte
	if n, err := io.ReadFull(r, one[:]); n > 0 {
		return fmt.Errorf("%w: got more than %d bytes", ErrSize, len(buf))
	} else if !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// putStream copies r into the store as it arrives.
func (s *Store) putStream(ctx context.Context, id string, size uint64, sum []byte, r io.Reader) error {
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
		writeSum(f, sum)
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
	if err := chunksum.Check(sum); err != nil {
		return fmt.Errorf("put %s: %w: %v", id, ErrChecksum, err)
	}
	return nil
}

// copyVerified copies r to w, checking that r yields exactly size bytes
// whose sum is sum (checkPut has checked its kind): the bytes are hashed on their way to w, and a long
// stream is caught at its first excess byte, without reading it all. A
// reader that can write itself out (the Put stream) hands its messages'
// data straight to w, with no copy in between.
func copyVerified(w io.Writer, r io.Reader, size uint64, sum []byte) error {
	h, err := chunksum.For(sum)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrChecksum, err)
	}
	v := &verifier{w: w, h: h, size: size}
	var buf []byte
	if _, ok := r.(io.WriterTo); !ok {
		buf = make([]byte, copyBufferBytes) // few large writes to the store
	}
	if _, err := io.CopyBuffer(v, r, buf); err != nil {
		return err
	}
	if v.n < size {
		return fmt.Errorf("%w: got %d bytes, want %d", ErrSize, v.n, size)
	}
	if got := v.h.Sum(nil); !bytes.Equal(got, sum) {
		return fmt.Errorf("%w: got %x, want %x", ErrChecksum, got, sum)
	}
	return nil
}

// verifier passes writes on to w, counting and hashing them, and refuses
// any past size bytes.
type verifier struct {
	w    io.Writer
	h    hash.Hash
	n    uint64
	size uint64
}

func (v *verifier) Write(p []byte) (int, error) {
	if v.n+uint64(len(p)) > v.size {
		return 0, fmt.Errorf("%w: got more than %d bytes", ErrSize, v.size)
	}
	v.h.Write(p)
	n, err := v.w.Write(p)
	v.n += uint64(n)
	return n, err
}

// copyBufferBytes is the buffer of a Put from a reader that cannot write
// itself out.
const copyBufferBytes = 1 << 20
