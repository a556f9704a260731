package server_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/servertest"
)

// TestReadThroughOwnSite: a client that reaches only its own site's node
// reads a file whose chunks are stored at another site (the node relays
// them), whole and in part.
func TestReadThroughOwnSite(t *testing.T) {
	c := servertest.Start(t, servertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	east := nodeClient(t, c, 0, "east", pb.Consistency_STRONG, 20*time.Second)
	west := nodeClient(t, c, 1, "west", pb.Consistency_STRONG, 20*time.Second)
	data := make([]byte, 5<<20+123) // two chunks, stored at east
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	if err := east.WriteFile(ctx, "/far", data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := west.ReadFile(ctx, "/far")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("west read %d bytes, %v; want the %d east wrote", len(got), err, len(data))
	}
	f, err := west.OpenFile(ctx, "/far", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	part := make([]byte, 1000)
	if _, err := f.ReadAt(part, 4<<20+77); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if !bytes.Equal(part, data[4<<20+77:4<<20+1077]) {
		t.Fatal("a range read through west differs from what east wrote")
	}
}
