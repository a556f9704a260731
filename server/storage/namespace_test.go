package storage_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"google.golang.org/protobuf/proto"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
	"github.com/geomds/geomds/server/storage"
)

var (
	_ namespace.Tx     = (*storage.Batch)(nil)
	_ namespace.Reader = (*storage.View)(nil)
)

// TestNamespaceDeterminism applies the same seeded random command log to
// two Pebble engines with different batch sizes (one restarted midway),
// to a third engine restored from a state snapshot taken midway, and to a
// MemTx. Every command's result must be identical everywhere, and the
// final states equal: same StateHash and applied index on the engines,
// same namespace Digest as the MemTx, and a clean invariant check.
func TestNamespaceDeterminism(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			cmds := randomCommands(rand.New(rand.NewPCG(seed, 99)), 1500)
			mem := namespace.NewMemTx()
			must(t, namespace.Init(mem, 0))
			want := make([]*pb.Result, len(cmds))
			for i, c := range cmds {
				res, err := namespace.Apply(mem, c)
				must(t, err)
				want[i] = res
			}
			checkOK(t, want)

			fsA, fsB := vfs.NewMem(), vfs.NewMem()
			a := newReplay(t, fsA, 1)
			b := newReplay(t, fsB, 97)
			a.apply(cmds[:700], want)
			b.apply(cmds[:700], want)
			b.restart()
			var snap bytes.Buffer
			_, err := a.e.WriteState(1, &snap)
			must(t, err)
			c := newReplay(t, vfs.NewMem(), 13)
			must(t, c.e.RestoreState(1, &snap))
			c.applied = a.applied
			for _, r := range []*replay{a, b, c} {
				r.apply(cmds[700:], want[700:])
			}

			hash, applied := stateHash(t, a.e)
			for _, r := range []*replay{b, c} {
				if h, ap := stateHash(t, r.e); h != hash || ap != applied {
					t.Fatalf("state hash %x applied %d, engine A %x applied %d", h, ap, hash, applied)
				}
			}
			checkDigest(t, a.e, mem)
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// checkOK makes sure the log is not mostly rejections.
func checkOK(t *testing.T, results []*pb.Result) {
	ok := 0
	for _, r := range results {
		if r.GetErrno() == pb.Errno_OK {
			ok++
		}
	}
	hist := map[pb.Errno]int{}
	for _, r := range results {
		hist[r.GetErrno()]++
	}
	t.Logf("results: %v", hist)
	if ok < len(results)/4 {
		t.Fatalf("only %d of %d commands succeeded: the generator is off", ok, len(results))
	}
}

func stateHash(t *testing.T, e *storage.Engine) ([32]byte, uint64) {
	h, applied, err := e.StateHash(1)
	must(t, err)
	return h, applied
}

func checkDigest(t *testing.T, e *storage.Engine, mem *namespace.MemTx) {
	v, err := e.View(1)
	must(t, err)
	defer v.Close()
	got, err := namespace.Digest(v)
	must(t, err)
	want, err := namespace.Digest(mem)
	must(t, err)
	if got != want {
		t.Fatal("Pebble state differs from the MemTx state")
	}
	must(t, namespace.Check(v))
}

// replay applies commands to one engine in fixed-size batches, as the
// state machine applies committed entries, each batch with its applied index.
type replay struct {
	t       *testing.T
	fs      vfs.FS
	e       *storage.Engine
	size    int
	applied uint64
}

func newReplay(t *testing.T, fs vfs.FS, size int) *replay {
	r := &replay{t: t, fs: fs, size: size}
	r.open()
	b := r.e.NewBatch(1)
	defer b.Close()
	must(t, namespace.Init(b, 0))
	must(t, b.Commit(false))
	return r
}

func (r *replay) open() {
	e, err := storage.Open("db", storage.Options{FS: r.fs})
	must(r.t, err)
	r.e = e
	r.t.Cleanup(func() { _ = e.Close() })
}

func (r *replay) restart() {
	must(r.t, r.e.Close())
	r.open()
	if applied, _, err := r.e.Applied(1); err != nil || applied != r.applied {
		r.t.Fatalf("applied %d after restart, want %d (%v)", applied, r.applied, err)
	}
}

func (r *replay) apply(cmds []*pb.Command, want []*pb.Result) {
	for i := 0; i < len(cmds); i += r.size {
		b := r.e.NewBatch(1)
		for j := i; j < min(i+r.size, len(cmds)); j++ {
			res, err := namespace.Apply(b, proto.Clone(cmds[j]).(*pb.Command))
			must(r.t, err)
			if !proto.Equal(res, want[j]) {
				r.t.Fatalf("command %v: result %v, MemTx %v", cmds[j], res, want[j])
			}
			r.applied++
		}
		must(r.t, b.SetApplied(r.applied, 1))
		must(r.t, b.Commit(false))
		must(r.t, b.Close())
	}
}

// randomCommands generates a log over a small tree, so that commands
// collide (EEXIST, ENOENT, ENOTEMPTY, renames over existing names) and
// sessions, handles and exactly-once bookkeeping are exercised.
func randomCommands(rng *rand.Rand, n int) []*pb.Command {
	g := &cmdGen{rng: rng, now: 1_000_000_000}
	cmds := make([]*pb.Command, n)
	for i := range cmds {
		cmds[i] = g.next()
	}
	return cmds
}

type cmdGen struct {
	rng   *rand.Rand
	now   int64
	seq   [4]uint64 // per client (index 0 = no client)
	acked [4]uint64
}

var (
	genDirs  = []string{"/", "/a", "/b", "/a/c", "/b/d"}
	genNames = []string{"x", "y", "z", "a", "b", "c", "d"}
)

func (g *cmdGen) path() string {
	d := genDirs[g.rng.IntN(len(genDirs))]
	if d == "/" {
		d = ""
	}
	return d + "/" + genNames[g.rng.IntN(len(genNames))]
}

func (g *cmdGen) next() *pb.Command {
	g.now += int64(g.rng.IntN(5_000_000_000)) // sessions expire now and then
	c := &pb.Command{Shard: 1, TimeNs: g.now}
	g.setOp(c)
	if client := g.rng.IntN(4); client > 0 {
		c.ClientId = uint64(client)
		g.seq[client]++
		c.Seq = g.seq[client]
		if g.rng.IntN(3) > 0 {
			g.acked[client] = g.seq[client] - 1
		}
		c.AckedSeq = g.acked[client]
	}
	if g.rng.IntN(5) == 0 {
		c.Creds = &pb.Creds{Uid: 1000, Gid: 1000}
	}
	return c
}

func (g *cmdGen) setOp(c *pb.Command) {
	loc := func() *pb.Loc { return &pb.Loc{Path: g.path()} }
	switch r := g.rng.IntN(40); {
	case r < 6:
		c.Op = &pb.Command_Mkdir{Mkdir: &pb.Mkdir{Loc: loc(), Mode: 0o777}}
	case r < 10:
		c.Op = &pb.Command_MkdirAll{MkdirAll: &pb.MkdirAll{Path: genDirs[1+g.rng.IntN(len(genDirs)-1)], Mode: 0o777}}
	case r < 16:
		c.Op = &pb.Command_Mknod{Mknod: &pb.Mknod{Loc: loc(), Mode: 0o100644, Exclusive: g.rng.IntN(2) == 0, Open: g.rng.IntN(3) == 0}}
	case r < 19:
		c.Op = &pb.Command_Unlink{Unlink: &pb.Unlink{Loc: loc()}}
	case r < 21:
		c.Op = &pb.Command_Rmdir{Rmdir: &pb.Rmdir{Loc: loc()}}
	case r < 26:
		c.Op = &pb.Command_Rename{Rename: &pb.Rename{From: loc(), To: loc(), Flags: uint32(g.rng.IntN(3))}}
	case r < 28:
		c.Op = &pb.Command_Symlink{Symlink: &pb.Symlink{Loc: loc(), Target: g.path()}}
	case r < 30:
		c.Op = &pb.Command_Link{Link: &pb.Link{Path: g.path(), NewLoc: loc()}}
	case r < 33:
		c.Op = &pb.Command_SetAttr{SetAttr: &pb.SetAttr{Path: g.path(), Valid: 1 | 8 | 32, Mode: 0o666, Size: uint64(g.rng.IntN(1 << 20)), MtimeNs: g.now}}
	case r < 36:
		c.Op = &pb.Command_SetXattr{SetXattr: &pb.SetXattr{Path: g.path(), Name: "user." + genNames[g.rng.IntN(3)], Value: []byte("v")}}
	case r < 37:
		c.Op = &pb.Command_RemoveAll{RemoveAll: &pb.RemoveAll{Path: genDirs[1+g.rng.IntN(len(genDirs)-1)]}}
	default:
		c.Op = &pb.Command_RemoveXattr{RemoveXattr: &pb.RemoveXattr{Path: g.path(), Name: "user." + genNames[g.rng.IntN(3)]}}
	}
}
