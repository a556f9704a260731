package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// The robustness workload: a few clients run a weighted mix of operations
// on a small namespace (4 names in the root, 2 in each of them) and every
// call is recorded with its invoke and return times for porcupine.

// opWeights is the mix, in percent (etcd's robustness traffic is similarly
// read-heavy with every kind of write present).
var opWeights = [...]struct {
	op     nsOp
	weight int
}{
	{opLstat, 25}, {opReadDir, 15}, {opCreate, 12}, {opMkdir, 10}, {opRename, 10},
	{opUnlink, 8}, {opRmdir, 6}, {opChmod, 7}, {opLink, 4}, {opSymlink, 3},
}

var (
	topNames = []string{"a", "b", "c", "d"}
	subNames = []string{"x", "y"}
	fileMode = []uint32{0o644, 0o600, 0o640, 0o755}
	dirMode  = []uint32{0o755, 0o700, 0o750}
)

// randomPath picks one of the 12 paths of the workload.
func randomPath(r *rand.Rand) string {
	top := topNames[r.IntN(len(topNames))]
	if r.IntN(2) == 0 {
		return top
	}
	return top + "/" + subNames[r.IntN(len(subNames))]
}

// allPaths lists every path the workload names.
func allPaths() []string {
	var out []string
	for _, t := range topNames {
		out = append(out, t)
		for _, s := range subNames {
			out = append(out, t+"/"+s)
		}
	}
	return out
}

// randomInput draws one call; id must be unique across the history.
func randomInput(r *rand.Rand, id int) nsInput {
	in := nsInput{ID: id, Path: randomPath(r)}
	n := r.IntN(100)
	for _, w := range opWeights {
		if n < w.weight {
			in.Op = w.op
			break
		}
		n -= w.weight
	}
	switch in.Op {
	case opReadDir:
		if r.IntN(3) == 0 {
			in.Path = ""
		} else {
			in.Path = topNames[r.IntN(len(topNames))]
		}
	case opCreate, opChmod:
		in.Mode = fileMode[r.IntN(len(fileMode))]
	case opMkdir:
		in.Mode = dirMode[r.IntN(len(dirMode))]
	case opRename, opLink:
		in.Path2 = randomPath(r)
	}
	return in
}

// recorder collects the history. Times are nanoseconds since start
// (monotonic clock).
type recorder struct {
	start   time.Time
	mu      sync.Mutex
	ops     []porcupine.Operation
	stats   []callStat
	nextID  atomic.Int64 // inode IDs of the model (unique per call)
	nextCli atomic.Int64 // porcupine client IDs
	// weakReads counts reads answered at a weaker consistency than STRONG:
	// the model only holds for linearizable reads.
	weakReads atomic.Int64
}

// callStat is one call, for the before/during/after figures.
type callStat struct {
	at, took time.Duration
	op       nsOp
	outcome  callOutcome
}

type callOutcome int

const (
	callOK       callOutcome = iota // succeeded
	callRejected                    // a definite errno (ENOENT, EEXIST, ...)
	callFailed                      // no answer: timeout, unavailable
)

func newRecorder(clients int) *recorder {
	rec := &recorder{start: time.Now()}
	rec.nextCli.Store(int64(clients))
	rec.nextID.Store(1)
	return rec
}

func (rec *recorder) now() int64 { return int64(time.Since(rec.start)) }

// add records one call. A mutation without a definite outcome stays
// pending to the end of the history (it may take effect at any later time);
// a read without an answer says nothing and is left out.
func (rec *recorder) add(cli int, in nsInput, out nsOutput, call, ret int64) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	outcome := callOK
	switch {
	case out.Unknown:
		outcome = callFailed
	case out.Errno != pb.Errno_OK:
		outcome = callRejected
	}
	rec.stats = append(rec.stats, callStat{at: time.Duration(call), took: time.Duration(ret - call), op: in.Op, outcome: outcome})
	if out.Unknown {
		if in.Op.isRead() {
			return
		}
		ret = math.MaxInt64
	}
	rec.ops = append(rec.ops, porcupine.Operation{ClientId: cli, Input: in, Call: call, Output: out, Return: ret})
}

func (rec *recorder) history() []porcupine.Operation {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]porcupine.Operation(nil), rec.ops...)
}

// pending counts the mutations left without an outcome.
func (rec *recorder) pending() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := 0
	for _, op := range rec.ops {
		if op.Output.(nsOutput).Unknown {
			n++
		}
	}
	return n
}

// nsClient runs calls on the cluster for one workload client.
type nsClient struct {
	c    *client.Client
	root string // absolute path of the run's root
	rec  *recorder
	cli  int // current porcupine client ID; a fresh one after an unknown outcome
}

func (w *nsClient) abs(p string) string {
	if p == "" {
		return w.root
	}
	return w.root + "/" + p
}

// run draws and records calls until stop is closed; the call in progress
// finishes first (bounded by the client's RequestTimeout), so the history
// ends with as few pending calls as possible.
func (w *nsClient) run(ctx context.Context, r *rand.Rand, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		if ctx.Err() != nil {
			return
		}
		in := randomInput(r, int(w.rec.nextID.Add(1)))
		w.record(ctx, in)
	}
}

// record performs in and adds it to the history.
func (w *nsClient) record(ctx context.Context, in nsInput) {
	call := w.rec.now()
	out := w.do(ctx, in)
	w.rec.add(w.cli, in, out, call, w.rec.now())
	if out.Unknown && !in.Op.isRead() {
		w.cli = int(w.rec.nextCli.Add(1))
	}
}

func (w *nsClient) do(ctx context.Context, in nsInput) nsOutput {
	c, p := w.c, w.abs(in.Path)
	var err error
	switch in.Op {
	case opLstat:
		var a *pb.Attr
		if a, err = c.Lstat(ctx, p); err == nil {
			w.checkStrong()
			return nsOutput{Mode: a.GetMode(), Nlink: a.GetNlink()}
		}
	case opReadDir:
		var ents []*pb.DirEntry
		if ents, err = c.ReadDir(ctx, p); err == nil {
			w.checkStrong()
			return nsOutput{Entries: formatEntries(ents)}
		}
	case opCreate:
		_, err = c.Create(ctx, p, in.Mode, true)
	case opMkdir:
		_, err = c.Mkdir(ctx, p, in.Mode)
	case opRename:
		err = c.Rename(ctx, p, w.abs(in.Path2), 0)
	case opUnlink:
		_, err = c.Mutate(ctx, &pb.Command{Op: &pb.Command_Unlink{Unlink: &pb.Unlink{Loc: &pb.Loc{Path: p}}}})
	case opRmdir:
		_, err = c.Mutate(ctx, &pb.Command{Op: &pb.Command_Rmdir{Rmdir: &pb.Rmdir{Loc: &pb.Loc{Path: p}}}})
	case opChmod:
		err = c.Chmod(ctx, p, in.Mode)
	case opLink:
		err = c.Link(ctx, p, w.abs(in.Path2))
	case opSymlink:
		err = c.Symlink(ctx, symlinkTarget, p)
	}
	return errOutput(err)
}

// checkStrong counts a read whose reply says it was not linearizable.
func (w *nsClient) checkStrong() {
	if m := w.c.LastMeta(); m.GetConsistency() != pb.Consistency_STRONG || m.GetStalenessNs() != 0 {
		w.rec.weakReads.Add(1)
	}
}

func formatEntries(ents []*pb.DirEntry) string {
	parts := make([]string, len(ents))
	for i, e := range ents {
		parts[i] = fmt.Sprintf("%s:%o", e.GetName(), e.GetMode())
	}
	return strings.Join(parts, ",")
}

// errOutput classifies a call's error. Unavailable, timeouts and internal
// errors leave the outcome unknown; any other errno is the namespace's
// answer (an errno the model never produces then shows up as a violation).
func errOutput(err error) nsOutput {
	switch e := client.ErrnoOf(err); e {
	case pb.Errno_OK:
		return nsOutput{}
	case pb.Errno_EAGAIN, pb.Errno_ETIMEDOUT, pb.Errno_EIO, pb.Errno_ENOSPC:
		return nsOutput{Unknown: true}
	default:
		return nsOutput{Errno: e}
	}
}
