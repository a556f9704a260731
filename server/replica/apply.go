package replica

import (
	"context"
	"fmt"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// apply hands committed entries to the state machine in one batch and wakes
// the local waiters. Entries the state machine already holds are skipped,
// but their conf changes still reach raft.
func (r *Replica) apply(ctx context.Context, ents []*raftpb.Entry) error {
	if len(ents) == 0 {
		return nil
	}
	l := &r.loop
	batch := make([]Entry, 0, len(ents))
	ids := make([]uint64, 0, len(ents))
	for _, e := range ents {
		ent, id, err := r.decode(e)
		if err != nil {
			return err
		}
		if e.GetIndex() > l.smApplied {
			batch = append(batch, ent)
			ids = append(ids, id)
		}
	}
	last := ents[len(ents)-1].GetIndex()
	if len(batch) > 0 {
		results, err := r.cfg.SM.Apply(ctx, batch)
		if err != nil {
			return fmt.Errorf("replica: apply [%d,%d]: %w", batch[0].Index, last, err)
		}
		if len(results) != len(batch) {
			return fmt.Errorf("replica: apply returned %d results for %d entries", len(results), len(batch))
		}
		l.smApplied = last
		// Readers see the new index before any proposer hears its result:
		// a client acknowledged by this node reads its write here at once.
		l.applied = last
		r.applied.set(max(l.applied, l.smApplied))
		r.wake(batch, ids, results)
	}
	l.applied = last
	r.applied.set(max(l.applied, l.smApplied))
	return nil
}

// decode turns a raft entry into an Entry, stripping the proposal header
// (returned as id, 0 if none) and applying conf changes to raft.
func (r *Replica) decode(e *raftpb.Entry) (Entry, uint64, error) {
	ent := Entry{Index: e.GetIndex(), Term: e.GetTerm(), Type: e.GetType()}
	switch e.GetType() {
	case raftpb.EntryNormal:
		id, payload, err := splitHeader(e.GetData())
		if err != nil {
			return ent, 0, fmt.Errorf("replica: entry %d: %w", ent.Index, err)
		}
		ent.Data = payload
		return ent, id, nil
	case raftpb.EntryConfChange, raftpb.EntryConfChangeV2:
		cc, err := unmarshalConfChange(e)
		if err != nil {
			return ent, 0, fmt.Errorf("replica: entry %d: %w", ent.Index, err)
		}
		ent.ConfChange = cc.AsV2()
		ent.ConfState = r.loop.rn.ApplyConfChange(cc)
		id, _ := decodeID(ent.ConfChange.GetContext())
		if id != 0 {
			v2 := proto.Clone(ent.ConfChange).(*raftpb.ConfChangeV2)
			v2.Context = v2.Context[headerLen:]
			ent.ConfChange = v2
		}
		r.loop.confState = ent.ConfState
		r.loop.confChanged = true
		r.publish()
		r.leaderCh.notify()
		return ent, id, nil
	default:
		return ent, 0, fmt.Errorf("replica: entry %d: unknown type %v", ent.Index, e.GetType())
	}
}

func unmarshalConfChange(e *raftpb.Entry) (raftpb.ConfChangeI, error) {
	if e.GetType() == raftpb.EntryConfChange {
		var cc raftpb.ConfChange
		if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
			return nil, err
		}
		return &cc, nil
	}
	var cc raftpb.ConfChangeV2
	if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
		return nil, err
	}
	return &cc, nil
}

// wake delivers results to the waiters of entries this node proposed.
func (r *Replica) wake(batch []Entry, ids []uint64, results []any) {
	for i, id := range ids {
		if id == 0 {
			continue
		}
		if batch[i].ConfState != nil {
			r.confW.deliver(id, batch[i].ConfState)
			continue
		}
		r.props.deliver(id, result{value: results[i], index: batch[i].Index})
	}
}
