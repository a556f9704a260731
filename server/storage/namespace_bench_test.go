package storage_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
	"github.com/geomds/geomds/server/namespace/namespacetest"
	"github.com/geomds/geomds/server/storage"
)

// The namespace benchmarks over Pebble: the same workloads the namespace
// package runs over its in-memory Tx, here through storage.Batch on a real
// directory (WAL on, commits not synced: the Raft log's fsync is measured
// elsewhere). Each batch also writes the applied index, as the state
// machine does.

const benchShard = 1

func openBenchEngine(b *testing.B) *storage.Engine {
	b.Helper()
	e, err := storage.Open(b.TempDir(), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Close() })
	return e
}

// batchStore is a namespacetest.Store: every call starts a Batch (closing
// the previous one); commit writes it with the next applied index.
func batchStore(b *testing.B, e *storage.Engine) namespacetest.Store {
	var applied uint64
	var cur *storage.Batch
	b.Cleanup(func() {
		if cur != nil {
			_ = cur.Close()
		}
	})
	return func() (namespace.Tx, func() error) {
		if cur != nil {
			_ = cur.Close()
		}
		bt := e.NewBatch(benchShard)
		cur = bt
		return bt, func() error {
			applied++
			if err := bt.SetApplied(applied, 1); err != nil {
				return err
			}
			return bt.Commit(false)
		}
	}
}

func BenchmarkCreate(b *testing.B) {
	defer reportThreadCPU(b, "creates")()
	namespacetest.BenchCreate(b, batchStore(b, openBenchEngine(b)))
}

// reportThreadCPU pins the benchmark to its OS thread and, when the
// returned function runs, reports ops per second of that thread's CPU time:
// the apply path's own cost, which unlike wall time does not depend on
// what else the machine runs. Background compaction and GC workers run on
// other threads and are excluded; setup inside the benchmark is included.
func reportThreadCPU(b *testing.B, what string) func() {
	runtime.LockOSThread()
	start := threadCPU(b)
	return func() {
		used := threadCPU(b) - start
		runtime.UnlockOSThread()
		if used > 0 {
			b.ReportMetric(float64(b.N)/used.Seconds(), what+"/cpu-s")
		}
	}
}

func threadCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const rusageThread = 1 // RUSAGE_THREAD (Linux)

func BenchmarkRename(b *testing.B) {
	defer reportThreadCPU(b, "renames")()
	namespacetest.BenchRename(b, batchStore(b, openBenchEngine(b)))
}

// The apply path's reads: through a Batch to the DB.
func BenchmarkLookupBatch(b *testing.B) {
	namespacetest.BenchLookup(b, batchStore(b, openBenchEngine(b)))
}

func BenchmarkGetAttrBatch(b *testing.B) {
	namespacetest.BenchGetAttr(b, batchStore(b, openBenchEngine(b)))
}

// The client read path: a fresh View (a Pebble snapshot) per operation, as
// the rpc layer opens one per request.
func BenchmarkLookupView(b *testing.B) {
	e, dir, _ := filledDir(b, 10_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		withView(b, e, func(v *storage.View) error {
			_, err := namespace.Lookup(v, nil, dir, "f"+strconv.Itoa((i*7919)%10_000))
			return err
		})
	}
}

func BenchmarkGetAttrView(b *testing.B) {
	e, _, inos := filledDir(b, 10_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		withView(b, e, func(v *storage.View) error {
			_, err := namespace.GetAttr(v, inos[(i*7919)%len(inos)])
			return err
		})
	}
}

func BenchmarkReadDir1000View(b *testing.B) {
	e, dir, _ := filledDir(b, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		withView(b, e, func(v *storage.View) error {
			ents, _, eof, err := namespace.ReadDir(v, nil, dir, "", 1000, false)
			if err == nil && (len(ents) != 1000 || !eof) {
				b.Fatalf("readdir: %d entries, eof %v", len(ents), eof)
			}
			return err
		})
	}
}

func withView(b *testing.B, e *storage.Engine, fn func(*storage.View) error) {
	v, err := e.View(benchShard)
	if err != nil {
		b.Fatal(err)
	}
	err = fn(v)
	if cerr := v.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
}

// filledDir makes an engine with one directory of n files, flushed to
// tables so reads are not served from the memtable only.
func filledDir(b *testing.B, n int) (*storage.Engine, uint64, []uint64) {
	b.Helper()
	e := openBenchEngine(b)
	a := newApplier(b, e)
	dir := a.mkdir("/d")
	inos := a.createFiles(dir, "f", n)
	if err := e.Compact(context.Background()); err != nil {
		b.Fatal(err)
	}
	return e, dir, inos
}

// BenchmarkCreateLarge measures creates (in batches of 1,000, into fresh
// 100,000-entry directories) on a store that already holds 1,000,000
// inodes, and reports the on-disk bytes per inode of that store after a
// flush and full compaction.
func BenchmarkCreateLarge(b *testing.B) {
	ls := largeStore(b)
	defer reportThreadCPU(b, "creates")()
	b.ReportAllocs()
	b.ResetTimer()
	dir, left := uint64(0), 0
	for done := 0; done < b.N; {
		if left == 0 {
			b.StopTimer()
			ls.dirs++
			dir, left = ls.a.mkdir("/new"+strconv.Itoa(ls.dirs)), 100_000
			b.StartTimer()
		}
		n := min(namespacetest.BatchSize, b.N-done, left)
		ls.a.createFiles(dir, "g"+strconv.Itoa(done)+"-", n)
		left -= n
		done += n
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	b.ReportMetric(ls.bytesPerInode, "disk-B/inode") // of the 1M-inode store before this run's creates
}

// largeStoreInodes is the size of the pre-filled store.
const largeStoreInodes = 1_000_000

type largeStoreState struct {
	e             *storage.Engine
	dir           string
	a             *applier
	dirs          int
	bytesPerInode float64
	err           error
}

var (
	largeOnce sync.Once
	large     largeStoreState
)

// largeStore builds the pre-filled store once per test binary (benchmarks
// re-run with growing b.N); TestMain removes it.
func largeStore(b *testing.B) *largeStoreState {
	largeOnce.Do(func() { large.err = buildLargeStore(b) })
	if large.err != nil {
		b.Fatal(large.err)
	}
	large.a.b = b
	return &large
}

func buildLargeStore(b *testing.B) error {
	dir, err := os.MkdirTemp("", "geomds-storage-bench-")
	if err != nil {
		return err
	}
	large.dir = dir
	if large.e, err = storage.Open(dir, storage.Options{}); err != nil {
		return err
	}
	large.a = newApplier(b, large.e)
	const perDir = 100_000
	for d := range largeStoreInodes / perDir {
		large.a.createFiles(large.a.mkdir("/fill"+strconv.Itoa(d)), "f", perDir)
	}
	if err := large.e.Compact(context.Background()); err != nil {
		return err
	}
	inodes := float64(largeStoreInodes + largeStoreInodes/perDir + 1)
	large.bytesPerInode = float64(large.e.DiskUsage()) / inodes
	return nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if large.e != nil {
		_ = large.e.Close()
	}
	if large.dir != "" {
		_ = os.RemoveAll(large.dir)
	}
	os.Exit(code)
}

// applier applies namespace commands to an engine in batches, as the state
// machine does, failing the benchmark or test on any error or rejection.
type applier struct {
	b       testing.TB
	e       *storage.Engine
	applied uint64
	seq     uint64
	now     int64
}

func newApplier(b testing.TB, e *storage.Engine) *applier {
	a := &applier{b: b, e: e, now: 1_700_000_000_000_000_000}
	a.batch(func(tx namespace.Tx) {
		if err := namespace.Init(tx, a.now); err != nil {
			b.Fatal(err)
		}
	})
	return a
}

func (a *applier) batch(fn func(tx namespace.Tx)) {
	bt := a.e.NewBatch(benchShard)
	defer bt.Close()
	fn(bt)
	a.applied++
	if err := bt.SetApplied(a.applied, 1); err != nil {
		a.b.Fatal(err)
	}
	if err := bt.Commit(false); err != nil {
		a.b.Fatal(err)
	}
}

func (a *applier) apply(tx namespace.Tx, cmd *pb.Command) *pb.Result {
	a.seq++
	a.now += 1000
	cmd.ClientId, cmd.Seq, cmd.AckedSeq, cmd.TimeNs = 1, a.seq, a.seq-1, a.now
	res, err := namespace.Apply(tx, cmd)
	if err != nil {
		a.b.Fatal(err)
	}
	if res.GetErrno() != pb.Errno_OK {
		a.b.Fatalf("%v: %v %s", cmd, res.GetErrno(), res.GetDetail())
	}
	return res
}

func (a *applier) mkdir(path string) uint64 {
	var ino uint64
	a.batch(func(tx namespace.Tx) {
		ino = a.apply(tx, &pb.Command{Op: &pb.Command_Mkdir{Mkdir: &pb.Mkdir{Loc: &pb.Loc{Path: path}, Mode: 0o777}}}).GetAttr().GetIno()
	})
	return ino
}

// createFiles creates prefix0..prefix(n-1) in dir, BatchSize per batch.
func (a *applier) createFiles(dir uint64, prefix string, n int) []uint64 {
	inos := make([]uint64, 0, n)
	for i := 0; i < n; i += namespacetest.BatchSize {
		a.batch(func(tx namespace.Tx) {
			for j := i; j < min(n, i+namespacetest.BatchSize); j++ {
				cmd := &pb.Command{Op: &pb.Command_Mknod{Mknod: &pb.Mknod{
					Loc: &pb.Loc{Parent: dir, Name: prefix + strconv.Itoa(j)}, Mode: 0o100644, Exclusive: true}}}
				inos = append(inos, a.apply(tx, cmd).GetAttr().GetIno())
			}
		})
	}
	return inos
}
