// Package storage is a node's Pebble engine: one database holding every
// shard's replicated state, Raft log and hard state.
//
// # Keys
//
// Every key starts with the shard ID (8 bytes, big-endian) and a one-byte
// keyspace: the applied index, system keys (conf state, member registry),
// namespace keys, then the Raft log, hard state, snapshot metadata and
// truncation point. Callers see shard-relative keys only. The replicated
// state (applied, system, namespace) is one contiguous range per shard,
// which is what StateHash covers, WriteState streams and RestoreState
// replaces.
//
// # Applying
//
// The state machine applies a run of committed entries in one Batch
// (namespace.Tx): reads see the committed state plus the batch's writes,
// SetApplied records the last entry's index and term, and Commit writes
// everything atomically. One goroutine applies to a shard, and only one
// Batch per shard is open at a time (a Batch remembers keys it found absent
// in the DB). Applied batches may commit without sync: the Raft log is
// synced, and all shards share one WAL, so after a crash the state is a
// prefix of what was applied and the replica re-applies the rest from the
// log. For the same reason the log must never be compacted beyond the
// applied index.
//
// Reads for clients use a View: one Pebble iterator, consistent across keys
// as of its creation, with the applied index it reflects. It pins the
// memtables and tables of that moment, so Views must be short and closed.
//
// # Raft log
//
// RaftLog implements raft.Storage with raft.MemoryStorage's answers and
// errors (ErrCompacted, ErrUnavailable, ErrSnapOutOfDate, size limits with
// at least one entry, the dummy entry at the truncation point that keeps
// its term). Save writes entries and hard state in one batch, synced when
// asked; an append at index i replaces stored entries at i and after. The
// newest few thousand entries are cached in memory so Term and Entries on
// the hot path do not read Pebble. Snapshots carry metadata only: the
// state travels as a separate stream.
//
// In the Ready loop, a received snapshot is installed with RestoreState
// (state and applied index, from the stream) and ApplySnapshot (log reset
// to the snapshot index, hard state commit raised to it), before Save of
// the same Ready's entries and hard state.
//
// # State streams
//
// WriteState streams one consistent snapshot of a shard's state, framed
// and ending with a SHA-256 of the whole stream. RestoreState reads and
// verifies the entire stream before it changes anything; a truncated or
// corrupted stream fails with ErrBadState and leaves the shard untouched.
// The new state is then swapped in with one synced batch.
//
// # Failures
//
// I/O errors are returned, never swallowed. A failed commit (for example a
// failed WAL sync) leaves Pebble's commit pipeline unusable, so the engine
// turns it into a sticky error: every later write fails and the replica
// fail-stops. Pebble reports unrecoverable background errors through its
// logger's Fatalf, which panics (ending the process) rather than exiting.
package storage
