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

// A state stream carries one shard's replicated state (system and namespace
// keys) and its applied index and term:
//
//	magic "GMDSTAT1" | applied index u64 BE | applied term u64 BE
//	record*  : keyspace byte | uvarint len | key | uvarint len | value   (ascending keys)
//	end      : 0x00 | uvarint record count
//	checksum : SHA-256 of every byte before it
//
// Keys are shard-relative, so a stream restores into any shard ID.
const stateMagic = "GMDSTAT1"

const (
	stateEndTag   = 0x00
	maxStateKey   = 64 << 10 // the namespace's keys are a name plus a few integers
	maxStateValue = 64 << 20 // bounds the allocation a corrupt length can cause
)

// ErrBadState reports a state stream that is truncated, corrupted or
// malformed; RestoreState changed nothing when it returns it.
var ErrBadState = errors.New("storage: invalid state stream")

// StateHash is a SHA-256 over the shard's system and namespace keys and
// values (not the applied index, not the raft log), read from one
// consistent snapshot, together with the applied index of that snapshot.
// Replicas that applied the same log have the same hash.
func (e *Engine) StateHash(shard uint64) (hash [32]byte, applied uint64, err error) {
	snap := e.db.NewSnapshot()
	defer snap.Close()
	if applied, _, err = readApplied(snap, shard); err != nil {
		return hash, 0, err
	}
	h := sha256.New()
	var rec []byte
	err = forEachStateKey(snap.NewIter, shard, func(ks keyspace, k, v []byte) error {
		rec = appendRecord(rec[:0], ks, k, v)
		h.Write(rec)
		return nil
	})
	h.Sum(hash[:0])
	return hash, applied, err
}

// WriteState streams a consistent copy of the shard's state to w and
// returns the applied index it corresponds to.
func (e *Engine) WriteState(shard uint64, w io.Writer) (applied uint64, err error) {
	snap := e.db.NewSnapshot()
	defer snap.Close()
	applied, term, err := readApplied(snap, shard)
	if err != nil {
		return 0, err
	}
	return applied, writeState(snap.NewIter, shard, applied, term, w)
}

// WriteState streams the state this view sees, in Engine.WriteState's
// format; the stream's applied index is the view's.
func (v *View) WriteState(w io.Writer) error {
	if v.it == nil {
		return errViewClosed
	}
	return writeState(v.clone, v.shard, v.applied, v.term, w)
}

// newIterFunc opens an iterator on some consistent view of the DB.
type newIterFunc func(*pebble.IterOptions) (*pebble.Iterator, error)

func writeState(newIter newIterFunc, shard, applied, term uint64, w io.Writer) (err error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	h := sha256.New()
	out := io.MultiWriter(bw, h)
	rec := append([]byte(stateMagic), encodeIndexTerm(applied, term)...)
	var count uint64
	if _, err = out.Write(rec); err != nil {
		return err
	}
	err = forEachStateKey(newIter, shard, func(ks keyspace, k, v []byte) error {
		rec = appendRecord(rec[:0], ks, k, v)
		count++
		_, err := out.Write(rec)
		return err
	})
	if err != nil {
		return err
	}
	rec = binary.AppendUvarint(append(rec[:0], stateEndTag), count)
	if _, err = out.Write(rec); err != nil {
		return err
	}
	if _, err = bw.Write(h.Sum(nil)); err != nil {
		return err
	}
	return bw.Flush()
}

func appendRecord(dst []byte, ks keyspace, k, v []byte) []byte {
	dst = append(dst, byte(ks))
	dst = binary.AppendUvarint(dst, uint64(len(k)))
	dst = append(dst, k...)
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	return append(dst, v...)
}

// forEachStateKey visits the system then the namespace keys of a shard.
func forEachStateKey(newIter newIterFunc, shard uint64, fn func(ks keyspace, k, v []byte) error) error {
	lo, hi := keyspaceStart(shard, ksSys), keyspaceStart(shard, ksStateEnd)
	it, err := newIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("storage: state: %w", err)
	}
	for ok := it.First(); ok && err == nil; ok = it.Next() {
		var v []byte
		if v, err = it.ValueAndErr(); err == nil {
			k := it.Key()
			err = fn(keyspace(k[prefixLen-1]), k[prefixLen:], v)
		}
	}
	return closeErr(it, firstErr(err, it.Error()))
}

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
