package storage

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

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
