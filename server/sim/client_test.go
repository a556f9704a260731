package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/anishathalye/porcupine"
	"google.golang.org/protobuf/proto"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
	"github.com/geomds/geomds/server/replica"
)

// client issues one operation at a time, as a real client library does:
// a write is retried with the same (client_id, seq) until an attempt
// returns a result, so exactly-once turns unknown outcomes into known
// ones; a read that fails is dropped (it changed nothing).
type client struct {
	idx    int    // index in the history (porcupine's ClientId)
	id     uint64 // client_id of its commands
	seq    uint64 // seq of the current or last write
	acked  uint64 // every seq <= acked has its result
	op     *pendingOp
	nextAt int64 // when the client acts next
	// held is the paused node the next attempt waits for: a stopped
	// process reads nothing, so the request sits in its socket until the
	// pause ends. early: it is then read before the peer messages that
	// queued up meanwhile.
	held  *node
	early bool
}

// pendingOp is the client's current operation.
type pendingOp struct {
	in           opInput
	call         int64  // history time of the invocation
	cmd          []byte // the marshalled command; every attempt sends the same
	seq          uint64
	att          *attempt // the attempt in flight; nil between attempts
	maybeApplied bool     // some attempt's outcome was unknown
}

// attempt is one Propose or ReadIndex call running in its own goroutine.
type attempt struct {
	node     *node
	inc      int // the node's incarnation when the attempt started
	cancel   context.CancelFunc
	deadline int64

	mu    sync.Mutex // guards the fields below, written by the attempt's goroutine
	done  bool
	res   any
	index uint64
	err   error
}

func (a *attempt) finish(res any, index uint64, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.done, a.res, a.index, a.err = true, res, index, err
}

func (a *attempt) result() (done bool, res any, index uint64, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.done, a.res, a.index, a.err
}

const (
	attemptTimeout = 150 // time units before a client gives up on an attempt
	thinkTime      = 15  // mean time units between a client's operations
	retryBackoff   = 20  // time units before a failed attempt is retried
)

func (w *world) newClients() {
	for i := range w.cfg.clients {
		w.clients = append(w.clients, &client{idx: i, id: uint64(100 + i), nextAt: w.rng.Int64N(thinkTime)})
	}
}

// act starts, times out or retries the client's operation.
func (c *client) act(w *world) {
	if c.op == nil {
		if w.now < c.nextAt || w.now >= w.cfg.workloadUntil() {
			return
		}
		c.begin(w)
	}
	if att := c.op.att; att != nil {
		if w.now >= att.deadline {
			att.cancel()
			w.settle()
		}
		return
	}
	if w.now >= c.nextAt {
		c.attempt(w)
	}
}

func (c *client) begin(w *world) {
	in := randomOp(w)
	op := &pendingOp{in: in}
	if in.kind != opStat {
		c.seq++
		op.seq = c.seq
		cmd := commandFor(in)
		cmd.Shard, cmd.ClientId, cmd.Seq, cmd.AckedSeq = shardID, c.id, c.seq, c.acked
		cmd.TimeNs = w.now * 1e6
		var err error
		if op.cmd, err = proto.Marshal(cmd); err != nil {
			w.fail(err)
			return
		}
	}
	w.clock++
	op.call = w.clock
	c.op = op
	w.trace.addNote(w.now, evCall, c.id, op.seq, 0, uint64(w.clock), in.String())
}

// attempt sends the operation to a random running node.
func (c *client) attempt(w *world) {
	n := c.held
	c.held = nil
	if n == nil || !n.up {
		up := w.upNodes()
		if len(up) == 0 {
			c.nextAt = w.now + retryBackoff
			return
		}
		n = up[w.rng.IntN(len(up))]
	}
	if n.pauseTill > w.now {
		c.hold(w, n)
		return
	}
	if c.op.in.kind == opStat && w.cfg.bug == bugStaleRead {
		c.readLocally(w, n, 0)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	att := &attempt{node: n, inc: n.incarnation, cancel: cancel, deadline: w.now + attemptTimeout}
	c.op.att = att
	w.trace.add(w.now, evAttempt, c.id, c.op.seq, uint64(n.id), 0)
	rep, cmd := n.rep, c.op.cmd
	if c.op.in.kind == opStat {
		go func() { index, err := rep.ReadIndex(ctx); att.finish(nil, index, err) }()
	} else {
		go func() { res, index, err := rep.Propose(ctx, cmd); att.finish(res, index, err) }()
	}
	w.settle()
}

// hold makes the client wait for a paused node: the attempt starts when the
// pause ends, or, if that is beyond the attempt timeout, the client gives
// up then and retries; the abandoned request might still be read, so a
// write's outcome becomes unknown.
func (c *client) hold(w *world, n *node) {
	if n.pauseTill-w.now <= attemptTimeout {
		c.held, c.nextAt, c.early = n, n.pauseTill, w.pct(50)
		return
	}
	c.op.maybeApplied = c.op.in.kind != opStat
	c.nextAt = w.now + attemptTimeout
}

// collect handles a finished attempt.
func (c *client) collect(w *world) {
	if c.op == nil || c.op.att == nil {
		return
	}
	done, res, index, err := c.op.att.result()
	if !done {
		return
	}
	att := c.op.att
	c.op.att = nil
	att.cancel()
	if c.op.in.kind == opStat {
		if err != nil {
			c.drop(w)
			return
		}
		c.readLocally(w, att.node, index)
		return
	}
	switch {
	case err == nil:
		c.complete(w, outputOf(c.op.in, res), att.node.id)
	case errors.Is(err, replica.ErrNoLeader):
		c.nextAt = w.now + retryBackoff // raft dropped it: nothing was applied
	default:
		c.op.maybeApplied = true // stopped or timed out: it may yet apply
		c.nextAt = w.now + retryBackoff
		if w.cfg.bug == bugRetryNewSeq {
			c.renumber(w)
		}
	}
}

// renumber gives the current write a new seq: the injected bug that
// defeats exactly-once.
func (c *client) renumber(w *world) {
	c.seq++
	c.op.seq = c.seq
	cmd := &pb.Command{}
	if err := proto.Unmarshal(c.op.cmd, cmd); err != nil {
		w.fail(err)
		return
	}
	cmd.Seq = c.seq
	c.op.cmd, _ = proto.Marshal(cmd)
}

// readLocally serves a stat from node n's state, which must be at or after
// the read index.
func (c *client) readLocally(w *world, n *node, index uint64) {
	if !n.up {
		c.drop(w)
		return
	}
	v, err := n.eng.View(shardID)
	if err != nil {
		w.fail(fmt.Errorf("node %d: view: %w", n.id, err))
		return
	}
	defer v.Close()
	if v.Applied() < index {
		w.fail(fmt.Errorf("node %d: read index %d returned with state at %d", n.id, index, v.Applied()))
		return
	}
	a, err := namespace.Resolve(v, nil, c.op.in.path, true)
	out := opOutput{errno: namespace.ErrnoOf(err)}
	if err == nil {
		out.ino, out.dir, out.perm = a.GetIno(), a.GetMode()&0o170000 == 0o040000, a.GetMode()&0o7777
	}
	c.complete(w, out, n.id)
}

func outputOf(in opInput, res any) opOutput {
	r, ok := res.(*pb.Result)
	if !ok || r == nil {
		return opOutput{errno: pb.Errno_EIO}
	}
	out := opOutput{errno: r.GetErrno()}
	if out.errno == pb.Errno_OK && (in.kind == opMkdir || in.kind == opCreate || in.kind == opChmod) {
		a := r.GetAttr()
		out.ino, out.dir, out.perm = a.GetIno(), a.GetMode()&0o170000 == 0o040000, a.GetMode()&0o7777
	}
	return out
}

// complete records the operation with its outcome.
func (c *client) complete(w *world, out opOutput, from nodeID) {
	w.clock++
	w.history = append(w.history, porcupine.Operation{
		ClientId: c.idx, Input: c.op.in, Call: c.op.call, Output: out, Return: w.clock,
	})
	w.trace.addNote(w.now, evReturn, c.id, c.op.seq, uint64(from), uint64(w.clock), out.String())
	if c.op.seq > 0 {
		c.acked = c.op.seq
	}
	c.op = nil
	c.nextAt = w.now + 1 + w.rng.Int64N(2*thinkTime)
}

// drop forgets a read that failed: it had no effect.
func (c *client) drop(w *world) {
	c.op = nil
	c.nextAt = w.now + retryBackoff
}

// abandon ends the run for this client: an attempt in flight is cancelled,
// and a write that may have applied is recorded with an unknown outcome.
func (c *client) abandon(w *world) {
	if c.op == nil {
		return
	}
	if att := c.op.att; att != nil {
		att.cancel()
		c.op.maybeApplied = true
	}
	if c.op.in.kind != opStat && c.op.maybeApplied {
		w.history = append(w.history, porcupine.Operation{
			ClientId: c.idx, Input: c.op.in, Call: c.op.call, Output: opOutput{unknown: true}, Return: math.MaxInt64,
		})
		w.stats.unknown++
	}
	c.op = nil
}
