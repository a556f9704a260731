package sim

import (
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"
	"go.etcd.io/raft/v3/raftpb"
)

func newFS() *vfs.MemFS { return vfs.NewCrashableMem() }

// evKind names a trace event.
type evKind uint8

const (
	evSend evKind = iota
	evDeliver
	evCrash
	evStart
	evFault
	evCall
	evReturn
	evAttempt
)

// event is one line of the trace: cheap to record, formatted only when a
// run fails.
type event struct {
	now        int64
	kind       evKind
	a, b, c, d uint64
	note       string
}

// trace keeps the last events of a run and a hash of all of them: two
// runs of one seed must produce the same hash.
type trace struct {
	ring  []event
	next  int
	count int
	hash  uint64
}

func (t *trace) init(n int) { t.ring = make([]event, n); t.hash = 14695981039346656037 }

func (t *trace) add(now int64, kind evKind, a, b, c, d uint64) { t.addNote(now, kind, a, b, c, d, "") }

func (t *trace) addNote(now int64, kind evKind, a, b, c, d uint64, note string) {
	t.ring[t.next] = event{now: now, kind: kind, a: a, b: b, c: c, d: d, note: note}
	t.next = (t.next + 1) % len(t.ring)
	t.count++
	h := fnv.New64a()
	fmt.Fprint(h, t.hash, now, kind, a, b, c, d, note)
	t.hash = h.Sum64()
}

func (e event) String() string {
	switch e.kind {
	case evSend:
		return fmt.Sprintf("%6d send    %d->%d %v term %d", e.now, e.a, e.b, raftpb.MessageType(e.c), e.d)
	case evDeliver:
		return fmt.Sprintf("%6d deliver %d->%d %v term %d", e.now, e.a, e.b, raftpb.MessageType(e.c), e.d)
	case evCrash:
		return fmt.Sprintf("%6d crash   node %d", e.now, e.a)
	case evStart:
		return fmt.Sprintf("%6d start   node %d", e.now, e.a)
	case evFault:
		return fmt.Sprintf("%6d fault   %s", e.now, e.note)
	case evCall:
		return fmt.Sprintf("%6d call    client %d seq %d: %s (history time %d)", e.now, e.a, e.b, e.note, e.d)
	case evReturn:
		return fmt.Sprintf("%6d return  client %d seq %d from node %d: %s (history time %d)", e.now, e.a, e.b, e.c, e.note, e.d)
	case evAttempt:
		return fmt.Sprintf("%6d attempt client %d seq %d on node %d: %s", e.now, e.a, e.b, e.c, e.note)
	}
	return fmt.Sprintf("%6d ? %d %d %d %d %s", e.now, e.a, e.b, e.c, e.d, e.note)
}

// tail formats the last n events.
func (t *trace) tail(n int) string {
	n = min(n, t.count, len(t.ring))
	var b strings.Builder
	for i := range n {
		e := t.ring[(t.next-n+i+len(t.ring))%len(t.ring)]
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}
