package storage

import "encoding/binary"

// Every key in the DB starts with the shard ID (8 bytes, big-endian) and a
// one-byte keyspace, so one shard's data is one contiguous key range and
// each kind of data inside it is a contiguous sub-range.
//
// The keyspaces of the replicated state (applied, sys, namespace) are
// adjacent, so one range [stateLo, stateHi) covers exactly what a state
// snapshot carries and what RestoreState replaces. The Raft keyspaces come
// after them and are never part of the state.
type keyspace byte

const (
	ksApplied   keyspace = 0x01 // applied index and term, 16 bytes
	ksSys       keyspace = 0x02 // replicated non-namespace state (conf state, members)
	ksNamespace keyspace = 0x03 // namespace keys, as the namespace package writes them
	ksStateEnd  keyspace = 0x04 // exclusive end of the replicated state

	ksRaftEntry keyspace = 0x10 // raft log: index (8 bytes BE) -> marshalled raftpb.Entry
	ksHardState keyspace = 0x11 // marshalled raftpb.HardState
	ksSnapshot  keyspace = 0x12 // marshalled raftpb.SnapshotMetadata of the latest snapshot
	ksTruncated keyspace = 0x13 // index and term of the entry before the first stored one
)

// prefixLen is the length of the shard ID and keyspace prefix.
const prefixLen = 9

// appendKey appends the full DB key of a shard-relative key to dst.
func appendKey(dst []byte, shard uint64, ks keyspace, key []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, shard)
	dst = append(dst, byte(ks))
	return append(dst, key...)
}

// keyspaceStart is the first possible key of a keyspace.
func keyspaceStart(shard uint64, ks keyspace) []byte {
	return appendKey(make([]byte, 0, prefixLen), shard, ks, nil)
}

// scanBounds turns a shard-relative [start, end) into DB bounds; a nil end
// means the end of the keyspace. The bounds are freshly allocated because
// Pebble keeps referring to them while the iterator lives.
func scanBounds(shard uint64, ks keyspace, start, end []byte) (lo, hi []byte) {
	buf := make([]byte, 0, 2*prefixLen+len(start)+len(end))
	lo = appendKey(buf, shard, ks, start)
	if end == nil {
		hi = appendKey(lo[len(lo):], shard, ks+1, nil)
	} else {
		hi = appendKey(lo[len(lo):], shard, ks, end)
	}
	return lo, hi
}

func entryKey(shard, index uint64) []byte {
	k := appendKey(make([]byte, 0, prefixLen+8), shard, ksRaftEntry, nil)
	return binary.BigEndian.AppendUint64(k, index)
}

// entryKeyEnd is the exclusive end of the whole raft log of a shard.
func entryKeyEnd(shard uint64) []byte {
	return keyspaceStart(shard, ksRaftEntry+1)
}

// entryIndex decodes the index of a raft log key.
func entryIndex(key []byte) (uint64, bool) {
	if len(key) != prefixLen+8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(key[prefixLen:]), true
}

// encodeIndexTerm is the 16-byte value of the applied and truncated keys.
func encodeIndexTerm(index, term uint64) []byte {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 16), index)
	return binary.BigEndian.AppendUint64(v, term)
}

func decodeIndexTerm(v []byte) (index, term uint64, ok bool) {
	if len(v) != 16 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:]), true
}
