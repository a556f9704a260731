package server_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/geomds/geomds/chunkstore"
	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/servertest"
)

// chunkTraces records the chunk transfers a client makes, by where they
// went: "chunk store" for its own store, else the node's address, with
// " failed" added when the transfer failed.
type chunkTraces struct {
	mu  sync.Mutex
	got map[string][]string // method -> endpoints
}

func (ct *chunkTraces) record(t client.Trace) {
	if t.Method != "ChunkPut" && t.Method != "ChunkGet" {
		return
	}
	ct.mu.Lock()
	defer ct.mu.Unlock()
	ep := t.Endpoint
	if t.Err != nil {
		ep += " failed"
	}
	ct.got[t.Method] = append(ct.got[t.Method], ep)
}

func (ct *chunkTraces) take(method string) []string {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	out := ct.got[method]
	delete(ct.got, method)
	return out
}

// TestDirectChunkStore: a client given its site's chunk store writes and
// reads chunks there itself, and the nodes serve those chunks like any
// other (a client at another site reads them through its own node).
func TestDirectChunkStore(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := chunkstore.Open(ctx, "file://"+filepath.Join(c.Dir(), "chunks-east"), "east")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	traces := &chunkTraces{got: map[string][]string{}}
	east, err := client.New(ctx, client.Config{Endpoints: c.Endpoints(), Site: "east", Creds: &pb.Creds{},
		ChunkStore: st, Explain: traces.record})
	if err != nil {
		t.Fatal(err)
	}
	defer east.Close()
	data := make([]byte, 5<<20+321) // two chunks
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	if err := east.WriteFile(ctx, "/direct", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := traces.take("ChunkPut"); len(got) != 2 || got[0] != "chunk store" || got[1] != "chunk store" {
		t.Fatalf("chunk writes went to %v, want the store twice", got)
	}
	got, err := east.ReadFile(ctx, "/direct")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("east read %d bytes, %v; want the %d it wrote", len(got), err, len(data))
	}
	for _, ep := range traces.take("ChunkGet") {
		if ep != "chunk store" {
			t.Fatalf("east read a chunk through %s, not from its store", ep)
		}
	}
	west := nodeClient(t, c, 1, "west", pb.Consistency_STRONG, 20*time.Second)
	if got, err := west.ReadFile(ctx, "/direct"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("west read %d bytes, %v; want the %d east wrote", len(got), err, len(data))
	}
	// A chunk west holds is not in east's store: east reads it through a node.
	if err := west.WriteFile(ctx, "/atwest", data[:1<<20], 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := east.ReadFile(ctx, "/atwest"); err != nil || !bytes.Equal(got, data[:1<<20]) {
		t.Fatalf("east read %d bytes of west's file, %v", len(got), err)
	}
	if got := traces.take("ChunkGet"); len(got) != 1 || got[0] == "chunk store" {
		t.Fatalf("west's chunk was read through %v, want one node", got)
	}

	// Damage at rest is caught by the direct read (and by the nodes' path
	// it falls back to): the read fails rather than return other bytes.
	names, err := os.ReadDir(filepath.Join(c.Dir(), "chunks-east"))
	if err != nil || len(names) == 0 {
		t.Fatalf("east's store: %d chunks, %v", len(names), err)
	}
	for _, de := range names {
		path := filepath.Join(c.Dir(), "chunks-east", de.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0x40
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	traces.take("ChunkGet")
	if got, err := east.ReadFile(ctx, "/direct"); err == nil {
		t.Fatalf("east read %d bytes of damaged chunks without an error", len(got))
	}
	if got := traces.take("ChunkGet"); len(got) == 0 || got[0] != "chunk store failed" {
		t.Fatalf("reads of damaged chunks: %v, want the store's read to fail first", got)
	}

	// A store of another site than the client's is refused.
	_, err = client.New(ctx, client.Config{Endpoints: c.Endpoints(), Site: "west", ChunkStore: st})
	var e *client.Error
	if !errors.As(err, &e) || e.Errno != pb.Errno_EINVAL {
		t.Fatalf("client of site west with east's store: %v, want EINVAL", err)
	}
}
