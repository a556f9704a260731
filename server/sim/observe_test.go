package sim

import (
	"context"
	"io"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/fsm"
	"github.com/geomds/geomds/server/replica"
	"github.com/geomds/geomds/server/storage"
)

// observedLog passes everything to the real RaftLog, reports every hard
// state the replica saves to the recorder, and offers a crash point before
// and after every write.
type observedLog struct {
	replica.LogStore
	w *world
	n *node
}

func (l *observedLog) Save(hs *raftpb.HardState, ents []*raftpb.Entry, sync bool) error {
	l.n.crashPoint(l.w)
	if err := l.LogStore.Save(hs, ents, sync); err != nil {
		return err
	}
	l.w.rec.savedHardState(l.n.id, hs, sync)
	l.w.rec.savedEntries(l.n.id, ents)
	l.n.crashPoint(l.w)
	return nil
}

func (l *observedLog) ApplySnapshot(snap *raftpb.Snapshot) error {
	l.n.crashPoint(l.w)
	err := l.LogStore.ApplySnapshot(snap)
	l.n.crashPoint(l.w)
	return err
}

func (l *observedLog) CreateSnapshot(index uint64, cs *raftpb.ConfState) error {
	err := l.LogStore.CreateSnapshot(index, cs)
	l.n.crashPoint(l.w)
	return err
}

func (l *observedLog) Compact(index uint64) error {
	err := l.LogStore.Compact(index)
	l.n.crashPoint(l.w)
	return err
}

// observedSM passes everything to the real FSM and reports what was applied
// and the state it produced to the recorder. It also injects the bugs the
// checker tests need.
type observedSM struct {
	fsm *fsm.FSM
	eng *storage.Engine
	w   *world
	n   *node
}

func (s *observedSM) Applied() uint64 { return s.fsm.Applied() }

func (s *observedSM) Apply(ctx context.Context, ents []replica.Entry) ([]any, error) {
	before := s.fsm.Applied()
	s.w.rec.applying(s.n.id, before, ents)
	handed := s.w.injectApplyBug(s.n, ents)
	results, err := s.fsm.Apply(ctx, handed)
	if err != nil {
		return results, err
	}
	for i, e := range ents {
		if e.Index > before {
			s.w.rec.applied(s.n.id, e, results[i])
		}
	}
	s.w.rec.stateAt(s.n.id, s.eng, "apply")
	s.n.crashPoint(s.w)
	return results, nil
}

func (s *observedSM) WriteSnapshot(w io.Writer) (uint64, error) { return s.fsm.WriteSnapshot(w) }

func (s *observedSM) RestoreSnapshot(r io.Reader) error {
	if err := s.fsm.RestoreSnapshot(r); err != nil {
		return err
	}
	s.w.rec.restored()
	s.w.rec.stateAt(s.n.id, s.eng, "restore")
	s.w.rec.checkNamespace(s.n.id, s.eng, "after restoring a snapshot")
	s.n.crashPoint(s.w)
	return nil
}

// resultKey is what every replica must agree on for one applied command.
func resultKey(res any) string {
	r, ok := res.(*pb.Result)
	if !ok || r == nil {
		return "-"
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
	if err != nil {
		return "unmarshalable: " + err.Error()
	}
	return string(b)
}
