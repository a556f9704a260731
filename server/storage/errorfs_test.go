package storage

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// TestSyncErrorIsReturned: a failing WAL sync surfaces as an error from
// Save, and the engine refuses every later write instead of carrying on.
func TestSyncErrorIsReturned(t *testing.T) {
	var failSyncs atomic.Bool
	inj := errorfs.InjectorFunc(func(op errorfs.Op) error {
		isSync := op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData || op.Kind == errorfs.OpFileSyncTo
		if failSyncs.Load() && isSync && strings.HasSuffix(op.Path, ".log") {
			return errorfs.ErrInjected
		}
		return nil
	})
	e := openEngine(t, errorfs.Wrap(vfs.NewMem(), inj))
	l, err := e.RaftLog(1)
	must(t, err)
	must(t, l.Save(nil, ents(1, 2, 1), true))

	failSyncs.Store(true)
	hs := &raftpb.HardState{Term: proto.Uint64(1), Commit: proto.Uint64(2)}
	err = l.Save(hs, ents(3, 4, 1), true)
	if !errors.Is(err, errorfs.ErrInjected) {
		t.Fatalf("Save with a failing sync returned %v", err)
	}
	if last, _ := l.LastIndex(); last != 2 {
		t.Fatalf("failed Save became visible: last index %d", last)
	}
	b := e.NewBatch(1)
	defer b.Close()
	must(t, b.Put([]byte("k"), []byte("v")))
	if err := b.Commit(false); err == nil {
		t.Fatal("write accepted after a failed sync")
	}
	if err := l.Save(nil, ents(3, 3, 1), false); err == nil {
		t.Fatal("Save accepted after a failed sync")
	}
}
