package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// fillState commits n namespace keys and a few system keys to shard 1.
func fillState(t *testing.T, e *Engine, n int, applied uint64) {
	t.Helper()
	b := e.NewBatch(1)
	defer b.Close()
	for i := range n {
		must(t, b.Put(fmt.Appendf(nil, "key%06d", i), bytes.Repeat([]byte{byte(i)}, i%50)))
	}
	must(t, b.PutSys([]byte("conf"), []byte("voters=1,2,3")))
	must(t, b.PutSys([]byte("member/1"), []byte("n1")))
	must(t, b.SetApplied(applied, 3))
	must(t, b.Commit(false))
}

func stateHash(t *testing.T, e *Engine, shard uint64) ([32]byte, uint64) {
	t.Helper()
	h, applied, err := e.StateHash(shard)
	must(t, err)
	return h, applied
}

func TestWriteRestoreStateRoundTrip(t *testing.T) {
	src := openEngine(t, nil)
	fillState(t, src, 2000, 77)
	var stream bytes.Buffer
	applied, err := src.WriteState(1, &stream)
	must(t, err)
	if applied != 77 {
		t.Fatalf("WriteState applied %d", applied)
	}

	dst := openEngine(t, nil)
	b := dst.NewBatch(5) // stale state that the restore must remove
	must(t, b.Put([]byte("stale"), []byte("x")))
	must(t, b.PutSys([]byte("stale"), []byte("x")))
	must(t, b.Commit(false))
	b.Close()
	must(t, dst.RestoreState(5, bytes.NewReader(stream.Bytes())))

	want, _ := stateHash(t, src, 1)
	got, gotApplied := stateHash(t, dst, 5)
	if got != want || gotApplied != 77 {
		t.Fatalf("restored hash %x applied %d, want %x applied 77", got, gotApplied, want)
	}
	if _, term, _ := dst.Applied(5); term != 3 {
		t.Fatalf("restored applied term %d", term)
	}
	v, err := dst.View(5)
	must(t, err)
	defer v.Close()
	if _, ok := getString(t, v.Get, "stale"); ok {
		t.Fatal("stale namespace key survived the restore")
	}
	if got := fmtKV(scanAll(t, v.ScanSys, nil, nil)); got != "conf=voters=1,2,3 member/1=n1 " {
		t.Fatalf("restored sys keys: %s", got)
	}
}

func TestStateHashSeesEveryKeyButNotTheRaftLog(t *testing.T) {
	e := openEngine(t, nil)
	fillState(t, e, 10, 5)
	h0, _ := stateHash(t, e, 1)

	l, err := e.RaftLog(1)
	must(t, err)
	must(t, l.Save(nil, ents(1, 3, 1), true))
	b := e.NewBatch(1)
	must(t, b.SetApplied(6, 3))
	must(t, b.Commit(false))
	b.Close()
	if h, applied := stateHash(t, e, 1); h != h0 || applied != 6 {
		t.Fatalf("raft log or applied index changed the state hash (applied %d)", applied)
	}
	b = e.NewBatch(1)
	must(t, b.PutSys([]byte("conf"), []byte("voters=1,2")))
	must(t, b.Commit(false))
	b.Close()
	if h, _ := stateHash(t, e, 1); h == h0 {
		t.Fatal("a system key change left the state hash unchanged")
	}
}

// TestRestoreRejectsBadStreams: a truncated or corrupted stream is refused
// with ErrBadState and the target state stays exactly as it was.
func TestRestoreRejectsBadStreams(t *testing.T) {
	src := openEngine(t, nil)
	fillState(t, src, 300, 9)
	var buf bytes.Buffer
	_, err := src.WriteState(1, &buf)
	must(t, err)
	stream := buf.Bytes()

	dst := openEngine(t, nil)
	fillState(t, dst, 7, 4)
	before, beforeApplied := stateHash(t, dst, 1)

	rng := rand.New(rand.NewPCG(3, 4))
	cases := map[string][]byte{
		"empty":          nil,
		"header only":    stream[:24],
		"no checksum":    stream[:len(stream)-32],
		"short checksum": stream[:len(stream)-1],
		"trailing data":  append(append([]byte{}, stream...), 0),
	}
	for i := range 40 {
		cut := rng.IntN(len(stream))
		cases[fmt.Sprintf("truncated at %d/%d", cut, i)] = stream[:cut]
		flipped := append([]byte{}, stream...)
		pos := rng.IntN(len(flipped))
		flipped[pos] ^= byte(1 + rng.IntN(255))
		cases[fmt.Sprintf("byte %d flipped/%d", pos, i)] = flipped
	}
	for name, s := range cases {
		err := dst.RestoreState(1, bytes.NewReader(s))
		if !errors.Is(err, ErrBadState) {
			t.Fatalf("%s: RestoreState returned %v, want ErrBadState", name, err)
		}
		if h, applied := stateHash(t, dst, 1); h != before || applied != beforeApplied {
			t.Fatalf("%s: rejected restore changed the state", name)
		}
	}
	// A reader error is reported too and changes nothing.
	err = dst.RestoreState(1, io.MultiReader(bytes.NewReader(stream[:100]), errReader{}))
	if err == nil {
		t.Fatal("reader error ignored")
	}
	if h, _ := stateHash(t, dst, 1); h != before {
		t.Fatal("failed restore changed the state")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestViewWriteState: a View streams the state as of its creation, with
// its applied index, even after later commits.
func TestViewWriteState(t *testing.T) {
	src := openEngine(t, nil)
	fillState(t, src, 100, 10)
	want, _ := stateHash(t, src, 1)
	v, err := src.View(1)
	must(t, err)
	defer v.Close()
	fillState(t, src, 200, 11) // after the view: not in its stream

	var buf bytes.Buffer
	must(t, v.WriteState(&buf))
	dst := openEngine(t, nil)
	must(t, dst.RestoreState(1, &buf))
	if got, applied := stateHash(t, dst, 1); got != want || applied != 10 {
		t.Fatalf("restored from view: hash %x applied %d, want %x applied 10", got, applied, want)
	}
}
