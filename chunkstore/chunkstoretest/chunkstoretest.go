// Package chunkstoretest holds helpers for tests of chunk stores and of
// what is built on them.
package chunkstoretest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/url"
	"testing"
	"time"

	"github.com/geomds/geomds/chunkstore"
	"github.com/geomds/geomds/proto/chunksum"
)

// Ctx bounds a test generously: a slow CI machine must not fail it, a hang
// must.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// RandomBytes returns n bytes that depend only on seed.
func RandomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// Open opens the store at rawURL for site east, closed when the test ends.
func Open(t testing.TB, rawURL string) *chunkstore.Store {
	t.Helper()
	s, err := chunkstore.Open(Ctx(t), rawURL, "east")
	if err != nil {
		t.Fatalf("Open(%s): %v", rawURL, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// FileURL is the file:// URL of dir.
func FileURL(dir string) string { return (&url.URL{Scheme: "file", Path: dir}).String() }

// Put stores data under id, failing the test on error.
func Put(t testing.TB, s *chunkstore.Store, id string, data []byte) {
	t.Helper()
	if err := s.Put(Ctx(t), id, uint64(len(data)), chunksum.Of(data), bytes.NewReader(data)); err != nil {
		t.Fatalf("Put(%s): %v", id, err)
	}
}

// Get reads [off, off+length) of chunk id, failing the test on error.
func Get(t testing.TB, s *chunkstore.Store, id string, off, length uint64) []byte {
	t.Helper()
	r, _, err := s.Get(Ctx(t), id, off, length)
	if err != nil {
		t.Fatalf("Get(%s, %d, %d): %v", id, off, length, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	return b
}

// Absent checks that no read sees chunk id.
func Absent(t testing.TB, s *chunkstore.Store, id string) {
	t.Helper()
	ctx := Ctx(t)
	if _, err := s.Stat(ctx, id); !errors.Is(err, chunkstore.ErrNotFound) {
		t.Errorf("Stat(%s) = %v, want ErrNotFound", id, err)
	}
	if r, _, err := s.Get(ctx, id, 0, 0); !errors.Is(err, chunkstore.ErrNotFound) {
		if err == nil {
			r.Close()
		}
		t.Errorf("Get(%s) = %v, want ErrNotFound", id, err)
	}
}
