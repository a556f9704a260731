package fsm

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
	"github.com/geomds/geomds/server/replica"
	"github.com/geomds/geomds/server/storage"
)

// FSM is one shard's state machine on one node.
type FSM struct {
	eng   *storage.Engine
	shard uint64

	applied atomic.Uint64 // durable-or-pending applied index; written by Apply only

	mu      sync.Mutex            // guards members
	members map[uint64]*pb.Member // the registry, by node ID; refreshed after membership entries
	low     atomic.Bool           // some member of the registry is low on space
}

var _ replica.StateMachine = (*FSM)(nil)

// Open loads the shard's state from eng.
func Open(eng *storage.Engine, shard uint64) (*FSM, error) {
	f := &FSM{eng: eng, shard: shard}
	if err := f.reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Bootstrap creates the root directory and the initial member registry of a
// brand-new cluster. Every initial node runs it with the same members and a
// zero time, so their states are identical before the first entry applies.
func (f *FSM) Bootstrap(members []*pb.Member) error {
	b := f.eng.NewBatch(f.shard)
	defer b.Close()
	if err := namespace.Init(b, 0); err != nil {
		return err
	}
	for _, m := range members {
		if err := putMember(b, m); err != nil {
			return err
		}
	}
	if err := b.Commit(true); err != nil {
		return err
	}
	return f.reload()
}

func (f *FSM) reload() error {
	idx, _, err := f.eng.Applied(f.shard)
	if err != nil {
		return err
	}
	f.applied.Store(idx)
	return f.loadMembers()
}

// Applied is the index of the last applied entry.
func (f *FSM) Applied() uint64 { return f.applied.Load() }

// Apply applies committed entries in one batch; see the package doc.
func (f *FSM) Apply(ctx context.Context, entries []replica.Entry) ([]any, error) {
	results := make([]any, len(entries))
	b := f.eng.NewBatch(f.shard)
	defer b.Close()
	last, lastTerm := f.applied.Load(), uint64(0)
	membersChanged := false
	versions := f.memberVersions()
	for i, e := range entries {
		if e.Index <= last {
			continue
		}
		res, changed, err := f.applyEntry(b, e, versions)
		if err != nil {
			return nil, fmt.Errorf("fsm: apply entry %d: %w", e.Index, err)
		}
		results[i] = res
		membersChanged = membersChanged || changed
		last, lastTerm = e.Index, e.Term
	}
	if lastTerm == 0 {
		return results, nil // nothing new
	}
	if err := b.SetApplied(last, lastTerm); err != nil {
		return nil, err
	}
	if err := b.Commit(false); err != nil {
		return nil, fmt.Errorf("fsm: commit applied batch: %w", err)
	}
	f.applied.Store(last)
	if membersChanged {
		if err := f.loadMembers(); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// applyEntry applies one entry. versions holds every member's command
// version as of this entry (the registry at the batch's start, with the
// batch's changes so far), so the namespace's version check gives the same
// answer on every replica however its entries were batched.
func (f *FSM) applyEntry(b *storage.Batch, e replica.Entry, versions map[uint64]uint64) (any, bool, error) {
	switch e.Type {
	case raftpb.EntryConfChange, raftpb.EntryConfChangeV2:
		if err := applyConfChange(b, e); err != nil {
			return nil, true, err
		}
		return nil, true, trackVersions(b, e.ConfChange, versions)
	}
	if len(e.Data) == 0 {
		return nil, false, nil // a new leader's empty entry
	}
	cmd := &pb.Command{}
	if err := proto.Unmarshal(e.Data, cmd); err != nil {
		// Every replica decodes the same bytes the same way: a rejection.
		return &pb.Result{Errno: pb.Errno_EINVAL, Detail: "undecodable command", AppliedIndex: e.Index}, false, nil
	}
	cluster := clusterVersion(versions)
	var res *pb.Result
	var err error
	registry := true // the command changes the member registry
	switch {
	case cmd.GetReportVersion() != nil:
		res, err = reportVersion(b, cmd.GetReportVersion(), versions)
	case cmd.GetReportSpace() != nil && cluster >= namespace.ReportSpaceVersion:
		res, err = reportSpace(b, cmd.GetReportSpace())
	default:
		// Below ReportSpaceVersion the namespace refuses ReportSpace as a
		// replica of an older version does: ENOTSUP.
		registry = false
		res, err = namespace.ApplyAt(b, cmd, cluster)
	}
	if err != nil {
		return nil, registry, err
	}
	res.AppliedIndex = e.Index
	return res, registry, nil
}

// WriteSnapshot streams a consistent copy of the state.
func (f *FSM) WriteSnapshot(w io.Writer) (uint64, error) {
	return f.eng.WriteState(f.shard, w)
}

// RestoreSnapshot replaces the state with a stream from WriteSnapshot.
func (f *FSM) RestoreSnapshot(r io.Reader) error {
	if err := f.eng.RestoreState(f.shard, r); err != nil {
		return err
	}
	return f.reload()
}
