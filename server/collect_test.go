package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

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
