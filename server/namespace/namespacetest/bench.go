// Package namespacetest holds the namespace benchmarks in a form any Tx
// implementation can run: storage runs them over Pebble with its own Store.
//
//	func BenchmarkCreate(b *testing.B) { namespacetest.BenchCreate(b, myStore(b)) }
package namespacetest

import (
	"strconv"
	"testing"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
)

// Store starts a batch over one shard's state: the Tx to apply to and the
// commit that makes it durable and visible to the next batch. A MemTx
// store returns the same Tx every time and a no-op commit.
type Store func() (tx namespace.Tx, commit func() error)

// MemStore is a Store over one MemTx.
func MemStore() Store {
	m := namespace.NewMemTx()
	return func() (namespace.Tx, func() error) { return m, func() error { return nil } }
}

// BatchSize is the number of commands applied per batch, as the replica
// applies a Raft batch.
const BatchSize = 1000

const startNs = int64(1_700_000_000_000_000_000)

// clientCreds is a non-root caller, so permission checks run.
var clientCreds = &pb.Creds{Uid: 1000, Gid: 1000}

// harness applies commands batch by batch with exactly-once bookkeeping,
// as a client acking each result would.
type harness struct {
	b     *testing.B
	store Store
	seq   uint64
	now   int64
}

func newHarness(b *testing.B, store Store) *harness {
	h := &harness{b: b, store: store, now: startNs}
	h.batch(func(tx namespace.Tx) {
		if err := namespace.Init(tx, startNs); err != nil {
			b.Fatal(err)
		}
	})
	return h
}

func (h *harness) batch(fn func(tx namespace.Tx)) {
	tx, commit := h.store()
	fn(tx)
	if err := commit(); err != nil {
		h.b.Fatal(err)
	}
}

// apply stamps cmd (as the client unless it carries creds) and applies it,
// failing the benchmark on any error.
func (h *harness) apply(tx namespace.Tx, cmd *pb.Command) *pb.Result {
	h.seq++
	h.now += 1000
	cmd.ClientId, cmd.Seq, cmd.AckedSeq, cmd.TimeNs = 1, h.seq, h.seq-1, h.now
	if cmd.Creds == nil {
		cmd.Creds = clientCreds
	}
	res, err := namespace.Apply(tx, cmd)
	if err != nil {
		h.b.Fatal(err)
	}
	if res.Errno != pb.Errno_OK {
		h.b.Fatalf("%v: %v %s", cmd, res.Errno, res.Detail)
	}
	return res
}

// rootCreds make the setup directories (/ is root's, mode 0755).
var rootCreds = &pb.Creds{}

// mkdir creates a world-writable directory under / and returns its ino.
func (h *harness) mkdir(name string) uint64 {
	var ino uint64
	h.batch(func(tx namespace.Tx) {
		res := h.apply(tx, &pb.Command{Op: &pb.Command_Mkdir{Mkdir: &pb.Mkdir{Loc: &pb.Loc{Path: "/" + name}, Mode: 0o777}}, Creds: rootCreds})
		ino = res.Attr.Ino
	})
	return ino
}

func createCmd(dir uint64, name string) *pb.Command {
	return &pb.Command{Op: &pb.Command_Mknod{Mknod: &pb.Mknod{
		Loc: &pb.Loc{Parent: dir, Name: name}, Mode: 0o100644, Exclusive: true}}}
}

// fill creates n files f0..f(n-1) in dir and returns their inos.
func (h *harness) fill(dir uint64, n int) []uint64 {
	inos := make([]uint64, 0, n)
	for i := 0; i < n; i += BatchSize {
		h.batch(func(tx namespace.Tx) {
			for j := i; j < min(n, i+BatchSize); j++ {
				inos = append(inos, h.apply(tx, createCmd(dir, "f"+strconv.Itoa(j))).Attr.Ino)
			}
		})
	}
	return inos
}

// BenchCreate measures exclusive creates of empty files, BatchSize per
// batch, 100,000 per directory, and reports creates/s.
func BenchCreate(b *testing.B, store Store) {
	h := newHarness(b, store)
	dir := h.mkdir("d0")
	cmds := make([]*pb.Command, BatchSize)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += BatchSize {
		b.StopTimer()
		if i > 0 && i%100_000 == 0 {
			dir = h.mkdir("d" + strconv.Itoa(i))
		}
		n := min(BatchSize, b.N-i)
		for j := range n {
			cmds[j] = createCmd(dir, "file"+strconv.Itoa(i+j))
		}
		b.StartTimer()
		h.batch(func(tx namespace.Tx) {
			for _, c := range cmds[:n] {
				h.apply(tx, c)
			}
		})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	b.StopTimer()
	tx, _ := store()
	b.ReportMetric(logicalBytesPerInode(b, tx), "stateB/inode")
}

// logicalBytesPerInode is the size of all keys and values over the inode
// count: what the state costs per inode before storage overhead and
// compression.
func logicalBytesPerInode(b *testing.B, r namespace.Reader) float64 {
	var total int
	if err := r.Scan(nil, nil, func(k, v []byte) bool { total += len(k) + len(v); return true }); err != nil {
		b.Fatal(err)
	}
	st, err := namespace.StatFs(r)
	if err != nil {
		b.Fatal(err)
	}
	return float64(total) / float64(st.Inodes)
}

// BenchLookup measures Lookup of existing names in a 10,000-entry directory.
func BenchLookup(b *testing.B, store Store) {
	h := newHarness(b, store)
	dir := h.mkdir("d")
	const n = 10_000
	h.fill(dir, n)
	names := make([]string, n)
	for i := range names {
		names[i] = "f" + strconv.Itoa(i)
	}
	tx, _ := store()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := namespace.Lookup(tx, clientCreds, dir, names[(i*7919)%n]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchGetAttr measures GetAttr of existing inodes.
func BenchGetAttr(b *testing.B, store Store) {
	h := newHarness(b, store)
	inos := h.fill(h.mkdir("d"), 10_000)
	tx, _ := store()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := namespace.GetAttr(tx, inos[(i*7919)%len(inos)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchReadDir1000 measures listing a 1,000-entry directory in one call.
func BenchReadDir1000(b *testing.B, store Store) {
	h := newHarness(b, store)
	dir := h.mkdir("d")
	h.fill(dir, 1000)
	tx, _ := store()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ents, _, eof, err := namespace.ReadDir(tx, clientCreds, dir, "", 1000, false)
		if err != nil || len(ents) != 1000 || !eof {
			b.Fatal(len(ents), eof, err)
		}
	}
}

// BenchRename measures renames of files between two directories, in
// batches.
func BenchRename(b *testing.B, store Store) {
	h := newHarness(b, store)
	const n = 10_000
	src, dst := h.mkdir("src"), h.mkdir("dst")
	h.fill(src, n)
	dirs := [2]uint64{src, dst}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += BatchSize {
		h.batch(func(tx namespace.Tx) {
			for j := i; j < min(b.N, i+BatchSize); j++ {
				k, round := j%n, j/n
				name := "f" + strconv.Itoa(k)
				h.apply(tx, &pb.Command{Op: &pb.Command_Rename{Rename: &pb.Rename{
					From: &pb.Loc{Parent: dirs[round%2], Name: name},
					To:   &pb.Loc{Parent: dirs[(round+1)%2], Name: name}}}})
			}
		})
	}
}
