package server_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/geomds/geomds/chunkstore"
	"github.com/geomds/geomds/chunkstore/chunkstoretest"
	"github.com/geomds/geomds/proto/chunksum"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/servertest"
)

// TestChunksCollected: the chunks of a removed file are deleted from the
// site's blob store in the background; a file still referenced keeps its.
func TestChunksCollected(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := newClient(t, c, "west")
	big := make([]byte, 5<<20) // two chunks, not inline
	if err := cl.WriteFile(ctx, "/gone", big, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cl.WriteFile(ctx, "/kept", big[:1<<20], 0o644); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(c.Dir(), "chunks-west")
	count := func() int {
		ents, _ := os.ReadDir(store)
		return len(ents)
	}
	if n := count(); n != 3 {
		t.Fatalf("west's store holds %d chunks, want 3", n)
	}
	if err := cl.Remove(ctx, "/gone"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the removed file's chunks deleted", func() error {
		if n := count(); n != 1 {
			return fmt.Errorf("%d chunks in the store", n)
		}
		return nil
	})
	got, err := cl.ReadFile(ctx, "/kept")
	if err != nil || len(got) != 1<<20 {
		t.Fatalf("the kept file: %d bytes, %v", len(got), err)
	}
}

// TestAbandonedUploadsSwept: chunks in a site's store that no layout names
// (their writer never committed) are deleted once older than the grace
// period; chunks in use and recent uploads are kept; a commit of a swept
// chunk is refused with ESTALE and changes nothing; clients may not send
// the nodes' own chunk bookkeeping.
func TestAbandonedUploadsSwept(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := newClient(t, c, "east")
	if err := cl.WriteFile(ctx, "/kept", make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(c.Dir(), "chunks-east")
	store := chunkstoretest.Open(t, chunkstoretest.FileURL(dir))
	data := chunkstoretest.RandomBytes(1, 1000)
	abandoned, recent := chunkstore.NewID(), chunkstore.NewID()
	chunkstoretest.Put(t, store, abandoned, data)
	chunkstoretest.Put(t, store, recent, data)
	// Everything but the recent upload dates from two days ago, the
	// committed file's chunk included.
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 3 {
		t.Fatalf("east's store holds %d entries (%v), want 3", len(ents), err)
	}
	inUse := ""
	old := time.Now().Add(-48 * time.Hour)
	for _, e := range ents {
		if e.Name() == recent {
			continue
		}
		if e.Name() != abandoned {
			inUse = e.Name()
		}
		if err := os.Chtimes(filepath.Join(dir, e.Name()), old, old); err != nil {
			t.Fatal(err)
		}
	}

	east := c.Nodes[0]
	res, err := east.SweepChunks(ctx, 0)
	if err != nil || res.Queued != 1 {
		t.Fatalf("sweep: %+v, %v; want 1 queued (the abandoned upload)", res, err)
	}
	if res, err := east.SweepChunks(ctx, 0); err != nil || res.Queued != 0 {
		t.Fatalf("second sweep: %+v, %v; want nothing queued", res, err)
	}
	waitFor(t, ctx, "the abandoned chunk deleted", func() error {
		if _, err := os.Stat(filepath.Join(dir, abandoned)); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("still there: %v", err)
		}
		return nil
	})
	for _, id := range []string{inUse, recent} {
		if _, err := os.Stat(filepath.Join(dir, id)); err != nil {
			t.Errorf("chunk %s (in use or recent) gone: %v", id, err)
		}
	}
	if got, err := cl.ReadFile(ctx, "/kept"); err != nil || len(got) != 1<<20 {
		t.Fatalf("the kept file: %d bytes, %v", len(got), err)
	}

	// The writer of the abandoned chunk comes back and commits it.
	attr, err := cl.Create(ctx, "/late", 0o644, true)
	if err != nil {
		t.Fatal(err)
	}
	sum := chunksum.Of(data)
	_, err = cl.Mutate(ctx, &pb.Command{Op: &pb.Command_SetLayout{SetLayout: &pb.SetLayout{
		Ino: attr.GetIno(), Size: uint64(len(data)),
		Extents:   []*pb.Extent{{Offset: 0, Length: uint64(len(data)), Chunk: abandoned}},
		NewChunks: []*pb.ChunkRef{{Id: abandoned, Size: uint64(len(data)), Sum: sum, Sites: []string{"east"}}},
	}}})
	if !errors.Is(err, syscall.ESTALE) {
		t.Fatalf("commit of a swept chunk: %v, want ESTALE", err)
	}
	if st, err := cl.Stat(ctx, "/late"); err != nil || st.GetSize() != 0 {
		t.Fatalf("/late after the refused commit: %v, %v; want size 0", st, err)
	}

	for _, op := range []*pb.Command{
		{Op: &pb.Command_SweepChunks{SweepChunks: &pb.SweepChunks{Site: "east", Ids: []string{recent}}}},
		{Op: &pb.Command_DropChunks{DropChunks: &pb.DropChunks{Ids: []string{recent}}}},
	} {
		if _, err := cl.Mutate(ctx, op); !errors.Is(err, syscall.EPERM) {
			t.Errorf("%v from a client: %v, want EPERM", op.GetOp(), err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, recent)); err != nil {
		t.Errorf("the recent upload is gone: %v", err)
	}
}
