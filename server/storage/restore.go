package storage

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// RestoreState replaces the shard's state and applied index with a stream
// written by WriteState. The whole stream is read and verified (framing,
// key order, record count, checksum) before anything changes; then the old
// state is deleted and the new one written in one synced batch. The new
// state is held in memory (in that batch) until the commit.
//
// The caller must not have a Batch open on the shard meanwhile.
func (e *Engine) RestoreState(shard uint64, r io.Reader) error {
	wb := e.db.NewBatch()
	defer wb.Close()
	lo, hi := keyspaceStart(shard, ksApplied), keyspaceStart(shard, ksStateEnd)
	if err := wb.DeleteRange(lo, hi, nil); err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}
	if err := readState(shard, r, wb); err != nil {
		return err
	}
	defer e.state.clear() // the shard's state changed outside any Batch
	return e.commit(wb, true)
}

// readState decodes and verifies a state stream into wb.
func readState(shard uint64, r io.Reader, wb *pebble.Batch) error {
	sr := &stateReader{r: bufio.NewReaderSize(r, 64<<10), h: sha256.New(), shard: shard}
	header := make([]byte, len(stateMagic)+16)
	if err := sr.read(header); err != nil {
		return sr.bad("header", err)
	}
	if string(header[:len(stateMagic)]) != stateMagic {
		return fmt.Errorf("%w: bad magic %q", ErrBadState, header[:len(stateMagic)])
	}
	if err := wb.Set(keyspaceStart(shard, ksApplied), header[len(stateMagic):], nil); err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}
	for {
		done, err := sr.record(wb)
		if err != nil {
			return err
		}
		if done {
			return sr.trailer()
		}
	}
}

// stateReader reads a state stream, hashing everything before the checksum.
type stateReader struct {
	r     *bufio.Reader
	h     hash.Hash
	shard uint64
	count uint64  // records read
	prev  []byte  // full DB key of the previous record
	key   []byte  // scratch
	one   [1]byte // scratch for hashing single bytes
}

func (s *stateReader) read(p []byte) error {
	if _, err := io.ReadFull(s.r, p); err != nil {
		return err
	}
	s.h.Write(p)
	return nil
}

func (s *stateReader) ReadByte() (byte, error) {
	c, err := s.r.ReadByte()
	if err == nil {
		s.one[0] = c
		s.h.Write(s.one[:])
	}
	return c, err
}

func (s *stateReader) uvarint(limit uint64, what string) (uint64, error) {
	n, err := binary.ReadUvarint(s)
	if err != nil {
		return 0, s.bad(what, err)
	}
	if n > limit {
		return 0, fmt.Errorf("%w: record %d: %s %d exceeds %d", ErrBadState, s.count, what, n, limit)
	}
	return n, nil
}

func (s *stateReader) bad(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated in %s after %d records", ErrBadState, what, s.count)
	}
	return fmt.Errorf("%w: reading %s after %d records: %w", ErrBadState, what, s.count, err)
}

// record reads one record into wb, or the end marker (done).
func (s *stateReader) record(wb *pebble.Batch) (done bool, err error) {
	tag, err := s.ReadByte()
	if err != nil {
		return false, s.bad("record tag", err)
	}
	if tag == stateEndTag {
		n, err := s.uvarint(^uint64(0), "record count")
		if err == nil && n != s.count {
			err = fmt.Errorf("%w: end marker counts %d records, stream has %d", ErrBadState, n, s.count)
		}
		return true, err
	}
	if ks := keyspace(tag); ks != ksSys && ks != ksNamespace {
		return false, fmt.Errorf("%w: record %d: unknown keyspace %#x", ErrBadState, s.count, tag)
	}
	klen, err := s.uvarint(maxStateKey, "key length")
	if err != nil {
		return false, err
	}
	s.key = appendKey(s.key[:0], s.shard, keyspace(tag), nil)
	s.key = slices.Grow(s.key, int(klen))[:prefixLen+int(klen)]
	if err := s.read(s.key[prefixLen:]); err != nil {
		return false, s.bad("key", err)
	}
	if s.prev != nil && bytes.Compare(s.key, s.prev) <= 0 {
		return false, fmt.Errorf("%w: record %d: keys out of order", ErrBadState, s.count)
	}
	s.prev = append(s.prev[:0], s.key...)
	vlen, err := s.uvarint(maxStateValue, "value length")
	if err != nil {
		return false, err
	}
	op := wb.SetDeferred(len(s.key), int(vlen))
	copy(op.Key, s.key)
	if err := s.read(op.Value); err != nil {
		return false, s.bad("value", err)
	}
	s.count++
	return false, op.Finish()
}

// trailer checks the checksum and that nothing follows it.
func (s *stateReader) trailer() error {
	want := s.h.Sum(nil)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(s.r, got); err != nil {
		return s.bad("checksum", err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%w: checksum mismatch", ErrBadState)
	}
	if _, err := s.r.ReadByte(); err != io.EOF {
		if err == nil {
			return fmt.Errorf("%w: data after checksum", ErrBadState)
		}
		return s.bad("end of stream", err)
	}
	return nil
}
