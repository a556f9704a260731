package chunk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/geomds/geomds/chunkstore"
	"github.com/geomds/geomds/chunkstore/chunkstoretest"
	"github.com/geomds/geomds/proto/chunksum"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// gcWorld is a fake metadata queue plus one store per site.
type gcWorld struct {
	mu        sync.Mutex
	queue     []*pb.ChunkRef                      // pending deletions, in order
	confirmed []string                            // ids passed to Confirm
	failing   map[string]bool                     // sites whose deletes fail
	stores    map[string]*chunkstore.Store        // site -> store
	remote    map[string]grpc.ClientConnInterface // sites reached over gRPC
}

func newGCWorld(t *testing.T, sites ...string) *gcWorld {
	w := &gcWorld{failing: map[string]bool{}, stores: map[string]*chunkstore.Store{}, remote: map[string]grpc.ClientConnInterface{}}
	for _, site := range sites {
		w.stores[site] = chunkstoretest.Open(t, "mem://")
	}
	return w
}

// add stores a chunk at sites and queues it for deletion.
func (w *gcWorld) add(t *testing.T, sites ...string) string {
	return w.addID(t, chunkstore.NewID(), sites...)
}

func (w *gcWorld) addID(t *testing.T, id string, sites ...string) string {
	data := []byte("chunk " + id)
	for _, site := range sites {
		chunkstoretest.Put(t, w.stores[site], id, data)
	}
	w.queue = append(w.queue, &pb.ChunkRef{Id: id, Size: uint64(len(data)), Sum: chunksum.Of(data), Sites: sites})
	return id
}

func (w *gcWorld) collector() *Collector {
	return &Collector{
		Pending: func(ctx context.Context, after string, limit int) ([]*pb.ChunkRef, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			var out []*pb.ChunkRef // in ID order, as the metadata's queue
			for _, r := range w.queue {
				if r.GetId() > after {
					out = append(out, r)
				}
			}
			slices.SortFunc(out, func(a, b *pb.ChunkRef) int { return strings.Compare(a.GetId(), b.GetId()) })
			return out[:min(limit, len(out))], nil
		},
		Delete: func(ctx context.Context, site, id string) error {
			w.mu.Lock()
			fail, cc := w.failing[site], w.remote[site]
			w.mu.Unlock()
			switch {
			case fail:
				return fmt.Errorf("site %s unreachable", site)
			case cc != nil:
				return DeleteRemote(ctx, cc, id)
			}
			return w.stores[site].Delete(ctx, id)
		},
		Confirm: func(ctx context.Context, ids []string) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.confirmed = append(w.confirmed, ids...)
			w.queue = slices.DeleteFunc(w.queue, func(r *pb.ChunkRef) bool { return slices.Contains(ids, r.GetId()) })
			return nil
		},
		Limit:       3,
		Parallelism: 2,
		Interval:    time.Millisecond,
	}
}

func (w *gcWorld) present(t *testing.T, site, id string) bool {
	_, err := w.stores[site].Stat(chunkstoretest.Ctx(t), id)
	if err != nil && !errors.Is(err, chunkstore.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func TestCollectorDeletesEverywhereThenConfirms(t *testing.T) {
	w := newGCWorld(t, "east", "west", "north")
	w.remote["north"] = serve(t, NewService(w.stores["north"])) // one site over the wire
	a := w.add(t, "east", "west", "north")
	b := w.add(t, "west")
	c := w.add(t) // held nowhere: nothing to delete, confirmed at once
	n, err := w.collector().RunOnce(chunkstoretest.Ctx(t))
	if err != nil || n != 3 {
		t.Fatalf("RunOnce = %d, %v; want 3, nil", n, err)
	}
	for _, site := range []string{"east", "west", "north"} {
		if w.present(t, site, a) || w.present(t, site, b) {
			t.Fatalf("a chunk survived at %s", site)
		}
	}
	if want := slices.Sorted(slices.Values([]string{a, b, c})); !slices.Equal(w.confirmed, want) {
		t.Fatalf("confirmed %v, want %v", w.confirmed, want)
	}
}

func TestCollectorHoldsBackOnFailure(t *testing.T) {
	w := newGCWorld(t, "east", "west")
	a := w.add(t, "east", "west")
	b := w.add(t, "east")
	w.failing["west"] = true
	col := w.collector()
	n, err := col.RunOnce(chunkstoretest.Ctx(t))
	if n != 1 || err == nil {
		t.Fatalf("RunOnce with west failing = %d, %v; want 1 and an error", n, err)
	}
	if !slices.Equal(w.confirmed, []string{b}) {
		t.Fatalf("confirmed %v, want only %s", w.confirmed, b)
	}
	if w.present(t, "east", a) || !w.present(t, "west", a) {
		t.Fatalf("a should be gone from east (idempotent retry later) and still at west")
	}
	w.failing["west"] = false
	if n, err := col.RunOnce(chunkstoretest.Ctx(t)); n != 1 || err != nil {
		t.Fatalf("retry = %d, %v; want 1, nil", n, err)
	}
	if w.present(t, "west", a) || !slices.Equal(w.confirmed, []string{b, a}) {
		t.Fatalf("after retry: confirmed %v", w.confirmed)
	}
}

func TestCollectorConfirmFailure(t *testing.T) {
	w := newGCWorld(t, "east")
	w.add(t, "east")
	col := w.collector()
	boom := errors.New("no leader")
	col.Confirm = func(context.Context, []string) error { return boom }
	if n, err := col.RunOnce(chunkstoretest.Ctx(t)); n != 0 || !errors.Is(err, boom) {
		t.Fatalf("RunOnce = %d, %v; want 0 and the Confirm error", n, err)
	}
	col.Pending = func(context.Context, string, int) ([]*pb.ChunkRef, error) { return nil, boom }
	if _, err := col.RunOnce(chunkstoretest.Ctx(t)); !errors.Is(err, boom) {
		t.Fatalf("RunOnce with Pending failing = %v", err)
	}
}

// TestCollectorGoesPastPermanentFailures: chunks whose deletion keeps
// failing (their site is gone) fill more than a page at the head of the
// queue; the chunks after them are still deleted and confirmed.
func TestCollectorGoesPastPermanentFailures(t *testing.T) {
	w := newGCWorld(t, "east", "gone")
	w.failing["gone"] = true
	for i := range 7 { // more than two pages of 3, all sorting first
		w.addID(t, fmt.Sprintf("0%d", i), "gone")
	}
	good := []string{w.addID(t, "a1", "east"), w.addID(t, "a2", "east")}
	col := w.collector()
	for range 4 { // 0-0..0-2, 0-3..0-5, 0-6 a1 a2, back to the start
		col.RunOnce(chunkstoretest.Ctx(t)) //nolint:errcheck // the failures are expected
	}
	if !slices.Equal(w.confirmed, good) {
		t.Fatalf("confirmed %v, want %v", w.confirmed, good)
	}
	for _, id := range good {
		if w.present(t, "east", id) {
			t.Fatalf("%s still stored", id)
		}
	}
	if len(w.queue) != 7 {
		t.Fatalf("%d queued, want the 7 that cannot be deleted", len(w.queue))
	}
}

// TestCollectorRun drains a queue longer than one pass and stops with ctx.
func TestCollectorRun(t *testing.T) {
	w := newGCWorld(t, "east", "west")
	var ids []string
	for range 10 {
		ids = append(ids, w.add(t, "east", "west"))
	}
	ctx, cancel := context.WithCancel(chunkstoretest.Ctx(t))
	done := make(chan struct{})
	go func() { defer close(done); w.collector().Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		w.mu.Lock()
		left := len(w.queue)
		w.mu.Unlock()
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained: %d left", left)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	slices.Sort(ids)
	got := slices.Sorted(slices.Values(w.confirmed))
	if !slices.Equal(got, ids) {
		t.Fatalf("confirmed %v, want %v", got, ids)
	}
	for _, id := range ids {
		if w.present(t, "east", id) || w.present(t, "west", id) {
			t.Fatalf("%s survived", id)
		}
	}
}
