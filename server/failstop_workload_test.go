package server_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// writer makes directories under /fs one after another, each under a new
// name, and records every call: when it started and ended, whether it was
// acknowledged, and which node served the acknowledgement.
type writer struct {
	prefix string
	cl     *client.Client
	served string // node of the last successful attempt; the writer goroutine's own

	mu    sync.Mutex
	calls []call // guarded by mu
	acks  atomic.Int64
}

type call struct {
	name       string
	start, end time.Time
	err        error  // nil = acknowledged
	cutOff     bool   // unanswered because the load stopped
	servedBy   string // node that acknowledged it
}

// newWriter makes a writer whose client talks to endpoints only.
func newWriter(ctx context.Context, prefix string, endpoints []string, attempt time.Duration) (*writer, error) {
	w := &writer{prefix: prefix}
	cl, err := client.New(ctx, client.Config{
		Endpoints: endpoints, Creds: &pb.Creds{},
		RequestTimeout: 10 * attempt, AttemptTimeout: attempt,
		Explain: func(tr client.Trace) {
			if tr.Err == nil {
				w.served = tr.Node
			}
		},
	})
	if err != nil {
		return nil, err
	}
	w.cl = cl
	return w, nil
}

// run writes until ctx ends. A call without an acknowledgement leaves its
// directory in doubt; the next call uses the next name.
func (w *writer) run(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		c := call{name: fmt.Sprintf("%s-%05d", w.prefix, i), start: time.Now()}
		w.served = ""
		_, c.err = w.cl.Mkdir(ctx, "/fs/"+c.name, 0o755)
		c.end, c.servedBy = time.Now(), w.served
		c.cutOff = c.err != nil && ctx.Err() != nil
		w.mu.Lock()
		w.calls = append(w.calls, c)
		w.mu.Unlock()
		if c.err == nil {
			w.acks.Add(1)
			continue
		}
		// An endpoint that is down answers at once; do not spin on it.
		select {
		case <-ctx.Done():
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// history returns a copy of the calls made so far.
func (w *writer) history() []call {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls)
}

// acksStartedAfter counts acknowledged calls that started after t (and,
// when node is set, that node acknowledged).
func (w *writer) acksStartedAfter(t time.Time, node string) int {
	n := 0
	for _, c := range w.history() {
		if c.err == nil && c.start.After(t) && (node == "" || c.servedBy == node) {
			n++
		}
	}
	return n
}

// monitor samples every node's own status while the run goes on: the
// highest applied index the target reported, and the highest match index
// any leader reported for it (what the target acknowledged to a leader).
type monitor struct {
	mu           sync.Mutex
	maxApplied   uint64    // guarded by mu
	maxMatch     uint64    // guarded by mu
	lastAnswered time.Time // when the target last answered; guarded by mu
}

func (m *monitor) run(ctx context.Context, c *fsCluster, target *fsNode) {
	t := time.NewTicker(25 * time.Millisecond)
	defer t.Stop()
	for {
		m.sample(ctx, c, target)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sample asks every node once.
func (m *monitor) sample(ctx context.Context, c *fsCluster, target *fsNode) {
	for _, n := range c.nodes {
		v, err := n.view(ctx)
		if err != nil {
			continue
		}
		m.mu.Lock()
		if n == target {
			m.maxApplied = max(m.maxApplied, v.applied)
			m.lastAnswered = time.Now()
		} else if v.leads {
			m.maxMatch = max(m.maxMatch, v.match[target.peer.Name])
		}
		m.mu.Unlock()
	}
}

func (m *monitor) get() (maxApplied, maxMatch uint64, lastAnswered time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.maxApplied, m.maxMatch, m.lastAnswered
}
