package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// holdSenders makes c's senders wait, before they take their queue, until
// release is closed; queued reports how many calls wait in a class.
func holdSenders(t *testing.T, c *Client) (release chan struct{}, queued func(class int) int) {
	t.Helper()
	b, ok := c.eps[0].ns.(*batchingNS)
	if !ok {
		t.Fatal("the client does not batch")
	}
	release = make(chan struct{})
	b.beforeTake = func() { <-release }
	return release, func(class int) int {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.queues[class].calls)
	}
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// mkdirResults answers each mkdir with an inode numbered after its name
// (/d<i> gets i+100) and refuses /dup with EEXIST.
func mkdirResults(n *fakeNode) {
	n.onMutate = func(cmd *pb.Command) error {
		if cmd.GetMkdir().GetLoc().GetPath() == "/dup" {
			return errnoStatus(pb.Errno_EEXIST, "mkdir /dup: exists")
		}
		return nil
	}
	n.result = func(cmd *pb.Command) *pb.Result {
		var i uint64
		fmt.Sscanf(cmd.GetMkdir().GetLoc().GetPath(), "/d%d", &i) //nolint:errcheck // 0 when it does not parse
		return &pb.Result{Attr: &pb.Attr{Ino: i + 100}}
	}
}

// mkdirAll runs a Mutate of /d0../d<calls-2> and /dup at once and returns
// each call's result and error, by index (the last is /dup).
func mkdirAll(c *Client, calls int) ([]*pb.Result, []error) {
	res, errs := make([]*pb.Result, calls), make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		path := fmt.Sprintf("/d%d", i)
		if i == calls-1 {
			path = "/dup"
		}
		wg.Go(func() { res[i], errs[i] = c.Mutate(context.Background(), mkdirCmd(path)) })
	}
	wg.Wait()
	return res, errs
}

// checkMkdirs: every call got its own answer.
func checkMkdirs(t *testing.T, res []*pb.Result, errs []error) {
	t.Helper()
	last := len(res) - 1
	for i := range last {
		if errs[i] != nil {
			t.Fatalf("mkdir /d%d: %v", i, errs[i])
		}
		if got := res[i].GetAttr().GetIno(); got != uint64(i)+100 {
			t.Fatalf("mkdir /d%d answered with inode %d, want %d", i, got, i+100)
		}
	}
	var e *Error
	if !errors.As(errs[last], &e) || e.Errno != pb.Errno_EEXIST {
		t.Fatalf("mkdir /dup: %v, want EEXIST", errs[last])
	}
}

// Calls made while a sender waits travel in one Batch, and each caller
// gets its own result or its own error.
func TestBatchCoalesces(t *testing.T) {
	n := startNode(t, "a", "east")
	n.set(func(n *fakeNode) { n.batching = true; mkdirResults(n) })
	c := newTestClient(t, Config{Creds: &pb.Creds{}}, n)
	const calls = 20
	mkdirsTogether(t, c, calls)
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.batches) != 1 || n.batches[0] != calls || len(n.muts) != calls {
		t.Fatalf("batches %v carrying %d commands, want one of %d", n.batches, len(n.muts), calls)
	}
}

// A lone call goes as its plain RPC.
func TestBatchLoneCallIsPlain(t *testing.T) {
	n := startNode(t, "a", "east")
	n.set(func(n *fakeNode) { n.batching = true })
	c := newTestClient(t, Config{Creds: &pb.Creds{}}, n)
	for i := range 3 {
		if _, err := c.Mutate(context.Background(), mkdirCmd(fmt.Sprintf("/d%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.batches) != 0 || len(n.muts) != 3 {
		t.Fatalf("batches %v, %d commands; want none and 3", n.batches, len(n.muts))
	}
}

// A node without Batch (an older version) gets every call on its own, and
// is not asked for a Batch again for batchRetryAfter.
func TestBatchFallsBackToPlainCalls(t *testing.T) {
	n := startNode(t, "a", "east")
	n.set(mkdirResults)
	c := newTestClient(t, Config{Creds: &pb.Creds{}}, n)
	release, queued := holdSenders(t, c)
	const calls = 10
	for round := range 2 {
		done := make(chan struct{})
		var res []*pb.Result
		var errs []error
		go func() { res, errs = mkdirAll(c, calls); close(done) }()
		if round == 0 {
			waitFor(t, "every call queued", func() bool { return queued(classMutate) == calls })
			close(release)
		}
		<-done
		checkMkdirs(t, res, errs)
	}
	b := c.eps[0].ns.(*batchingNS)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.noBatchUntil.IsZero() {
		t.Fatal("the client did not note that the node has no Batch")
	}
	if got := len(n.mutations()); got != 2*calls {
		t.Fatalf("%d commands served, want %d", got, 2*calls)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.batches) != 1 {
		t.Fatalf("asked for %d Batches, want 1 (the first, refused)", len(n.batches))
	}
}

// A node without Batch is asked again once batchRetryAfter has passed (it
// may have been upgraded); refused again, it gets plain calls for another
// period, and once it serves Batch, calls are coalesced again.
func TestBatchFallbackRetried(t *testing.T) {
	n := startNode(t, "a", "east")
	n.set(mkdirResults)
	c := newTestClient(t, Config{Creds: &pb.Creds{}}, n)
	b := c.eps[0].ns.(*batchingNS)
	start := time.Now()
	var at atomic.Int64 // the fake clock's reading, past start
	b.now = func() time.Time { return start.Add(time.Duration(at.Load())) }
	const calls, r = 10, batchRetryAfter
	for i, step := range []struct {
		at       time.Duration // on the fake clock
		batching bool          // the node serves Batch
		batches  int           // Batches asked for so far
	}{
		{0, false, 1},                // refused: the calls go plain
		{r - time.Second, false, 1},  // still plain, no Batch asked
		{r, false, 2},                // asked again, refused again
		{2*r - time.Second, true, 2}, // plain for another period
		{2 * r, true, 3},             // asked again, and served
	} {
		at.Store(int64(step.at))
		n.set(func(n *fakeNode) { n.batching = step.batching })
		mkdirsTogether(t, c, calls)
		n.mu.Lock()
		batches, muts := len(n.batches), len(n.muts)
		n.mu.Unlock()
		if batches != step.batches || muts != (i+1)*calls {
			t.Fatalf("step %d (at %v): %d Batches asked for, %d commands served; want %d and %d",
				i, step.at, batches, muts, step.batches, (i+1)*calls)
		}
	}
}

// Reads and mutations queue apart: a mutation is not held up by a read
// that waits (a STRONG read without a quorum), even when both were queued
// together.
func TestBatchClassesApart(t *testing.T) {
	n := startNode(t, "a", "east")
	gate := make(chan struct{})
	n.set(func(n *fakeNode) {
		n.batching = true
		n.onGetAttr = func(context.Context, *pb.GetAttrRequest) error { <-gate; return nil }
	})
	defer close(gate)
	c := newTestClient(t, Config{Creds: &pb.Creds{}}, n)
	release, queued := holdSenders(t, c)
	go c.Stat(context.Background(), "/") //nolint:errcheck // held until the test ends
	mutated := make(chan error, 1)
	go func() { _, err := c.Mutate(context.Background(), mkdirCmd("/d")); mutated <- err }()
	waitFor(t, "both calls queued", func() bool { return queued(classMutate) == 1 && queued(classStrong) == 1 })
	close(release)
	select {
	case err := <-mutated:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the mutation waited for the held read")
	}
}

// A batch stops adding calls at maxBatchBytes (its first call is always
// taken, however large).
func TestBatchLenBytes(t *testing.T) {
	call := func(valueBytes int) *batchCall {
		cmd := &pb.Command{Op: &pb.Command_SetXattr{SetXattr: &pb.SetXattr{Path: "/f", Name: "user.x", Value: make([]byte, valueBytes)}}}
		return &batchCall{item: &pb.BatchItem{Call: &pb.BatchItem_Mutate{Mutate: &pb.MutateRequest{Command: cmd}}}}
	}
	big := []*batchCall{call(1500 << 10), call(1500 << 10), call(1500 << 10), call(10)}
	if n := batchLen(big); n != 2 {
		t.Fatalf("batch of 1.5 MiB calls takes %d, want 2 (under %d bytes)", n, maxBatchBytes)
	}
	if n := batchLen([]*batchCall{call(5 << 20), call(10)}); n != 1 {
		t.Fatalf("a call over the cap alone: batch takes %d, want 1", n)
	}
	small := make([]*batchCall, maxBatchCalls+5)
	for i := range small {
		small[i] = call(10)
	}
	if n := batchLen(small); n != maxBatchCalls {
		t.Fatalf("batch takes %d small calls, want %d", n, maxBatchCalls)
	}
}

// A reply of another kind than its call, or none, is an error, not an
// empty success.
func TestBatchResultKinds(t *testing.T) {
	mutate := &pb.BatchItem{Call: &pb.BatchItem_Mutate{Mutate: &pb.MutateRequest{}}}
	read := &pb.BatchItem{Call: &pb.BatchItem_GetAttr{GetAttr: &pb.GetAttrRequest{}}}
	attr := &pb.BatchResult{Reply: &pb.BatchResult_Attr{Attr: &pb.AttrReply{}}}
	mut := &pb.BatchResult{Reply: &pb.BatchResult_Mutate{Mutate: &pb.MutateReply{}}}
	for _, tc := range []struct {
		item *pb.BatchItem
		res  *pb.BatchResult
		ok   bool
	}{{mutate, mut, true}, {read, attr, true}, {mutate, attr, false}, {read, mut, false}, {mutate, &pb.BatchResult{}, false}} {
		_, err := batchResult(tc.item, tc.res)
		if (err == nil) != tc.ok {
			t.Errorf("%T answered with %T: err %v, want ok=%v", tc.item.GetCall(), tc.res.GetReply(), err, tc.ok)
		}
	}
}

// When every caller of a batch has gone, the Batch RPC is cancelled: the
// node stops working for nobody.
func TestBatchAbandonedWhenCallersLeave(t *testing.T) {
	n := startNode(t, "a", "east")
	entered, cancelled := make(chan struct{}, 3), make(chan struct{}, 3)
	n.set(func(n *fakeNode) {
		n.batching = true
		n.onGetAttr = func(ctx context.Context, _ *pb.GetAttrRequest) error {
			entered <- struct{}{}
			<-ctx.Done()
			cancelled <- struct{}{}
			return ctx.Err()
		}
	})
	c := newTestClient(t, Config{Creds: &pb.Creds{}}, n)
	release, queued := holdSenders(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	for range 3 {
		go c.Stat(ctx, "/") //nolint:errcheck // cancelled below
	}
	waitFor(t, "three reads queued", func() bool { return queued(classStrong) == 3 })
	close(release)
	for range 3 {
		<-entered
	}
	cancel()
	for i := range 3 {
		select {
		case <-cancelled:
		case <-time.After(3 * time.Second): // the attempt's own deadline is 6.7 s away
			t.Fatalf("the node's handler %d still runs after every caller left", i)
		}
	}
}

// mkdirsTogether makes calls mkdirs at once, held until every one is
// queued, then lets them go and checks each one's answer.
func mkdirsTogether(t *testing.T, c *Client, calls int) {
	t.Helper()
	release, queued := holdSenders(t, c)
	done := make(chan struct{})
	var res []*pb.Result
	var errs []error
	go func() { res, errs = mkdirAll(c, calls); close(done) }()
	waitFor(t, "every call queued", func() bool { return queued(classMutate) == calls })
	close(release)
	<-done
	checkMkdirs(t, res, errs)
}
