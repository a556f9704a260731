package replica

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// handleReady handles one Ready in the order doc.go states.
func (r *Replica) handleReady(ctx context.Context) error {
	l := &r.loop
	rd := l.rn.Ready()
	r.observe(rd.SoftState, rd.HardState)
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := r.persistSnapshot(rd.Snapshot); err != nil {
			return err
		}
	}
	early, late := splitMessages(rd.Messages, l.state == raft.StateLeader)
	r.send(early)
	// A read state only names the index a read must wait for; it need
	// not wait for this Ready's log write.
	r.handleReadStates(rd.ReadStates)
	save := !raft.IsEmptyHardState(rd.HardState) || len(rd.Entries) > 0
	during, after := r.splitDurable(rd, save)
	if err := r.applyWhileSaving(ctx, rd, save, during, late); err != nil {
		return err
	}
	if err := r.apply(ctx, after); err != nil {
		return err
	}
	l.rn.Advance(rd)
	return r.maybeSnapshot()
}

// splitDurable splits rd's committed entries into those already durable
// in this node's log before rd, which may be applied while rd's own write
// runs, and the rest, applied after it. The first part stops before any
// conf change, which changes raft's own state and is applied in order
// after the write. With a snapshot in rd everything waits.
func (r *Replica) splitDurable(rd raft.Ready, save bool) (during, after []*raftpb.Entry) {
	ents := rd.CommittedEntries
	if !save || len(ents) == 0 || !raft.IsEmptySnap(rd.Snapshot) {
		return nil, ents
	}
	last, err := r.cfg.Log.LastIndex()
	if err != nil {
		return nil, ents
	}
	if len(rd.Entries) > 0 {
		// New entries may replace a tail (never a committed entry).
		last = min(last, rd.Entries[0].GetIndex()-1)
	}
	i := 0
	for i < len(ents) && ents[i].GetIndex() <= last && ents[i].GetType() == raftpb.EntryNormal {
		i++
	}
	return ents[:i], ents[i:]
}

// applyWhileSaving applies entries that were durable before rd (during)
// while rd's entries and hard state are written and synced, and sends the
// messages that vouch for that write (late) as soon as it is done, not
// after the apply: the fsync and the apply of the previous round's commits
// overlap instead of taking turns on the loop.
func (r *Replica) applyWhileSaving(ctx context.Context, rd raft.Ready, save bool, during []*raftpb.Entry, late []*raftpb.Message) error {
	if len(during) == 0 {
		return r.persist(rd, save, late)
	}
	saved := make(chan error, 1)
	go func() { saved <- r.persist(rd, save, late) }()
	applyErr := r.apply(ctx, during)
	if err := <-saved; err != nil {
		return err
	}
	return applyErr
}

// persist writes rd's hard state and entries (when save), then sends late.
func (r *Replica) persist(rd raft.Ready, save bool, late []*raftpb.Message) error {
	if save {
		if err := r.cfg.Log.Save(rd.HardState, rd.Entries, rd.MustSync); err != nil {
			return fmt.Errorf("replica: save: %w", err)
		}
	}
	r.send(late)
	return nil
}

// observe tracks leader, role and term, and publishes them.
func (r *Replica) observe(ss *raft.SoftState, hs *raftpb.HardState) {
	l := &r.loop
	changed := false
	if ss != nil {
		changed = ss.Lead != l.lead || ss.RaftState != l.state
		if ss.Lead != l.lead && l.lead != raft.None {
			// A leader that lost leadership (or died) drops the proposals
			// it had not yet appended, silently: fail every waiter now so
			// callers retry with the new leader instead of waiting out
			// their deadline. Commands are exactly-once per client
			// sequence, so a retry of one that did commit returns its
			// first result.
			r.props.failAll(ErrOutcomeUnknown, r.parkedSet())
			// A read round the old leader dropped would wait an election
			// timeout to be reissued; its readers retry now instead.
			if l.round != nil {
				failReaders(l.round.readers, ErrNoLeader)
				l.round = nil
			}
		}
		if l.state == raft.StateLeader && ss.RaftState != raft.StateLeader {
			r.steppedDown()
		}
		l.lead, l.state = ss.Lead, ss.RaftState
		if l.lead != raft.None {
			r.park.leaderless = 0
		}
	}
	if hs != nil && hs.GetTerm() != l.term {
		l.term = hs.GetTerm()
		changed = true
	}
	if changed {
		r.publish()
		r.leaderCh.notify()
	}
}

// steppedDown records, as the last leader contact, the latest time this
// node surely held the newest state: a leader steps down at the latest an
// election timeout after it last heard from a quorum (CheckQuorum), and no
// other leader can commit before then. Without it a deposed leader would
// date its state from the last leader it heard before its own term, or
// never.
func (r *Replica) steppedDown() {
	at := time.Now().Add(-time.Duration(r.cfg.ElectionTicks) * r.cfg.TickInterval)
	r.contact.Store(at.UnixNano())
}

// persistSnapshot records a snapshot raft accepted from the leader. The
// state machine was restored by StepSnapshot before raft saw the message.
func (r *Replica) persistSnapshot(snap *raftpb.Snapshot) error {
	l := &r.loop
	if err := r.cfg.Log.ApplySnapshot(snap); err != nil {
		return fmt.Errorf("replica: apply snapshot: %w", err)
	}
	meta := snap.GetMetadata()
	l.applied, l.snapIndex = meta.GetIndex(), meta.GetIndex()
	l.confState = proto.Clone(raftpb.EnsureConfState(meta.GetConfState())).(*raftpb.ConfState)
	l.confChanged = false
	r.publish()
	r.applied.set(max(l.applied, l.smApplied))
	return nil
}

// splitMessages returns what may go out before the local write and what must
// wait for it. Only a leader sends early, and never a response that vouches
// for the durability of a vote or an append.
func splitMessages(msgs []*raftpb.Message, leader bool) (early, late []*raftpb.Message) {
	if !leader {
		return nil, msgs
	}
	for _, m := range msgs {
		switch m.GetType() {
		case raftpb.MsgAppResp, raftpb.MsgVoteResp, raftpb.MsgPreVoteResp:
			late = append(late, m)
		default:
			early = append(early, m)
		}
	}
	return early, late
}

func (r *Replica) send(msgs []*raftpb.Message) {
	if len(msgs) > 0 {
		r.cfg.Transport.Send(r.shard, msgs)
	}
}

// maybeSnapshot records a snapshot every SnapshotEntries applied entries and
// after each conf change (so a new replica catches up from the latest
// membership), then compacts the log behind it.
func (r *Replica) maybeSnapshot() error {
	l := &r.loop
	if l.applied <= l.snapIndex {
		return nil
	}
	periodic := l.applied-l.snapIndex >= r.cfg.SnapshotEntries
	if !periodic && !l.confChanged {
		return nil
	}
	if err := r.cfg.Log.CreateSnapshot(l.applied, l.confState); err != nil {
		return fmt.Errorf("replica: create snapshot at %d: %w", l.applied, err)
	}
	confChanged := l.confChanged
	l.snapIndex, l.confChanged = l.applied, false
	upTo := uint64(0)
	switch {
	case confChanged:
		// A replica added by this change starts with no state: compact the
		// whole applied log so it catches up from a state snapshot, never
		// by replaying entries onto an empty state machine.
		upTo = l.applied
	case periodic && l.applied > r.cfg.CompactKeep:
		upTo = l.applied - r.cfg.CompactKeep
	default:
		return nil
	}
	err := r.cfg.Log.Compact(upTo)
	if err != nil && !errors.Is(err, raft.ErrCompacted) {
		return fmt.Errorf("replica: compact to %d: %w", upTo, err)
	}
	return nil
}
