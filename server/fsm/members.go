package fsm

import (
	"encoding/binary"
	"fmt"
	"sort"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
	"github.com/geomds/geomds/server/replica"
	"github.com/geomds/geomds/server/storage"
)

// Keys of the member registry in the storage's replicated system keyspace.
var (
	memberPrefix = []byte("member/")
	nextIDKey    = []byte("member-next-id")
)

func memberKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), memberPrefix...), id)
}

func putMember(b *storage.Batch, m *pb.Member) error {
	v, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	if err := b.PutSys(memberKey(m.Id), v); err != nil {
		return err
	}
	next, err := nextID(b)
	if err != nil {
		return err
	}
	if m.Id >= next {
		return b.PutSys(nextIDKey, binary.BigEndian.AppendUint64(nil, m.Id+1))
	}
	return nil
}

type sysGetter interface {
	GetSys(key []byte) ([]byte, bool, error)
}

func nextID(g sysGetter) (uint64, error) {
	v, ok, err := g.GetSys(nextIDKey)
	if err != nil || !ok {
		return 1, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("fsm: corrupt %s", nextIDKey)
	}
	return binary.BigEndian.Uint64(v), nil
}

// applyConfChange records what a membership entry did. The member being
// added travels in the change's context; a removal deletes the record.
func applyConfChange(b *storage.Batch, e replica.Entry) error {
	cc := e.ConfChange
	if cc == nil {
		return nil
	}
	for _, c := range cc.GetChanges() {
		switch c.GetType() {
		case raftpb.ConfChangeRemoveNode:
			if err := b.DeleteSys(memberKey(c.GetNodeId())); err != nil {
				return err
			}
		case raftpb.ConfChangeAddNode, raftpb.ConfChangeAddLearnerNode:
			m := &pb.Member{}
			if len(cc.GetContext()) > 0 {
				if err := proto.Unmarshal(cc.GetContext(), m); err != nil {
					return nil // a malformed context records nothing, identically everywhere
				}
			} else if old, ok, err := b.GetSys(memberKey(c.GetNodeId())); err != nil {
				return err
			} else if ok {
				_ = proto.Unmarshal(old, m)
			}
			m.Id = c.GetNodeId()
			m.Learner = c.GetType() == raftpb.ConfChangeAddLearnerNode
			if err := putMember(b, m); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *FSM) loadMembers() error {
	v, err := f.eng.View(f.shard)
	if err != nil {
		return err
	}
	defer v.Close()
	ms := map[uint64]*pb.Member{}
	end := append(append([]byte(nil), memberPrefix...), 0xff)
	err = v.ScanSys(memberPrefix, end, func(_, val []byte) bool {
		m := &pb.Member{}
		if proto.Unmarshal(val, m) == nil {
			ms[m.Id] = m
		}
		return true
	})
	if err != nil {
		return err
	}
	low := false
	for _, m := range ms {
		low = low || m.GetLowSpace()
	}
	f.mu.Lock()
	f.members = ms
	f.mu.Unlock()
	f.low.Store(low)
	return nil
}

// Members returns the registry sorted by node ID.
func (f *FSM) Members() []*pb.Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*pb.Member, 0, len(f.members))
	for _, m := range f.members {
		out = append(out, proto.Clone(m).(*pb.Member))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Id < out[j].Id })
	return out
}

// Member returns one member by node ID.
func (f *FSM) Member(id uint64) (*pb.Member, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.members[id]
	return m, ok
}

// NextMemberID is the ID the next added member gets: IDs are never reused.
func (f *FSM) NextMemberID() (uint64, error) {
	v, err := f.eng.View(f.shard)
	if err != nil {
		return 0, err
	}
	defer v.Close()
	return nextID(v)
}

// ResetMembers replaces the whole registry (a cluster restored from a
// backup gets its own members). The IDs given must not be below the next
// member ID, so no ID is ever reused.
func (f *FSM) ResetMembers(members []*pb.Member) error {
	b := f.eng.NewBatch(f.shard)
	defer b.Close()
	for _, m := range f.Members() {
		if err := b.DeleteSys(memberKey(m.Id)); err != nil {
			return err
		}
	}
	for _, m := range members {
		if err := putMember(b, m); err != nil {
			return err
		}
	}
	if err := b.Commit(true); err != nil {
		return err
	}
	return f.loadMembers()
}

// VotersAt counts the voters at site and in all, without copying the
// registry (the handlers ask on every mutation).
func (f *FSM) VotersAt(site string) (atSite, total int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.members {
		if m.Learner {
			continue
		}
		total++
		if m.Site == site {
			atSite++
		}
	}
	return atSite, total
}

// memberVersions returns each member's command version, by node ID.
func (f *FSM) memberVersions() map[uint64]uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := make(map[uint64]uint64, len(f.members))
	for id, m := range f.members {
		v[id] = m.GetCommandVersion()
	}
	return v
}

// ClusterVersion is the lowest command version among the members: commands
// of a later version are refused.
func (f *FSM) ClusterVersion() uint64 { return clusterVersion(f.memberVersions()) }

// clusterVersion is the lowest command version among the members; a member
// that has not reported counts as version 1.
func clusterVersion(versions map[uint64]uint64) uint64 {
	low := uint64(namespace.CommandVersion)
	for _, v := range versions {
		low = min(low, max(v, 1))
	}
	return low
}

// trackVersions brings versions up to date with a membership change just
// applied to b: removed members leave, added ones bring their record's
// version (0 for a new member).
func trackVersions(b *storage.Batch, cc *raftpb.ConfChangeV2, versions map[uint64]uint64) error {
	for _, c := range cc.GetChanges() {
		id := c.GetNodeId()
		v, ok, err := b.GetSys(memberKey(id))
		if err != nil {
			return err
		}
		m := &pb.Member{}
		if !ok || proto.Unmarshal(v, m) != nil {
			delete(versions, id)
			continue
		}
		versions[id] = m.GetCommandVersion()
	}
	return nil
}

// reportVersion records a member's command version. A report for a node
// that is not a member, or of version 0, changes nothing.
func reportVersion(b *storage.Batch, rv *pb.ReportVersion, versions map[uint64]uint64) (*pb.Result, error) {
	if rv.GetVersion() == 0 {
		return &pb.Result{Errno: pb.Errno_EINVAL, Detail: "version report of version 0"}, nil
	}
	res, err := updateMember(b, rv.GetNode(), func(m *pb.Member) { m.CommandVersion = rv.GetVersion() })
	if err == nil && res.GetErrno() == pb.Errno_OK {
		versions[rv.GetNode()] = rv.GetVersion()
	}
	return res, err
}

// reportSpace records whether a member is below its free-space reserve.
func reportSpace(b *storage.Batch, rs *pb.ReportSpace) (*pb.Result, error) {
	return updateMember(b, rs.GetNode(), func(m *pb.Member) { m.LowSpace, m.FreeBytes = rs.GetLow(), rs.GetFreeBytes() })
}

// updateMember applies change to member id's record; a node that is not a
// member is EINVAL and changes nothing.
func updateMember(b *storage.Batch, id uint64, change func(*pb.Member)) (*pb.Result, error) {
	v, ok, err := b.GetSys(memberKey(id))
	if err != nil {
		return nil, err
	}
	m := &pb.Member{}
	if !ok || proto.Unmarshal(v, m) != nil {
		return &pb.Result{Errno: pb.Errno_EINVAL, Detail: "report for a node that is not a member"}, nil
	}
	change(m)
	if err := putMember(b, m); err != nil {
		return nil, err
	}
	return &pb.Result{}, nil
}

// AnyLowSpace reports whether some member is below its free-space reserve.
func (f *FSM) AnyLowSpace() bool { return f.low.Load() }

// LowSpace returns the members below their free-space reserve, by ID.
func (f *FSM) LowSpace() []*pb.Member {
	if !f.AnyLowSpace() {
		return nil
	}
	var low []*pb.Member
	for _, m := range f.Members() {
		if m.GetLowSpace() {
			low = append(low, m)
		}
	}
	return low
}
