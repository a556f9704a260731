// Package namespace is geomds's state machine: the POSIX namespace of one
// shard as a pure, deterministic function of (state, command).
//
// # Contract
//
// Apply(tx, cmd) reads and writes only through tx. It takes time from
// cmd.TimeNs, new inode numbers and handle IDs from counters in the state,
// and iterates only in key order, so the same command log gives the same
// state (Digest) on every replica. It reads no clock, draws no randomness
// and does no I/O.
//
// A rejection (ENOENT, EEXIST, EACCES, ...) is a normal outcome returned in
// Result.Errno, identical on every replica. Every operation validates fully
// before its first write, so a rejected command changes nothing except the
// exactly-once bookkeeping (session record, stored result). An error
// returned by Apply means storage failed or the state is corrupt: the
// caller must stop (fail-stop), never skip the command.
//
// The reads (Lookup, GetAttr, Resolve, ReadDir, ...) take any Reader and
// may run concurrently with each other on a consistent snapshot; Apply
// needs exclusive use of its Tx.
//
// # Exactly-once and sessions
//
// A client is identified by Command.client_id; its session is created by
// its first command and renewed by every later one. A session not renewed
// for its timeout (KeepAlive sets it; default 60 s) of command time
// expires: its open handles are released and its stored results dropped.
// A command with seq > 0 stores its Result; a retry of the same seq
// returns the stored Result instead of applying again. acked_seq lets the
// state machine forget results the client has received; a seq at or below
// a previously acknowledged one is answered ESTALE.
//
// # Inodes
//
// Ino 1 is /. Inode numbers are never reused: a counter hands out 2, 3, ...
// The high 16 bits of an ino are reserved for a shard ID (other shards
// will allocate (shard<<48)|n); shard 1 uses plain values. A directory's
// size is its number of entries, its nlink 2 + subdirectories. An inode
// whose last name is removed while handles are open stays as an orphan
// until its last handle is released.
//
// # File contents
//
// A regular file's contents are extents, inline or into immutable chunks
// (SetLayout: a whole layout, or with merge a writer's writes laid over the
// layout as it is). Chunks carry a refcount of the inodes that reference them;
// at zero they move to a deletion queue that the chunk service drains
// (PendingChunkDeletes, DropChunks).
//
// The key layout is described in keys.go; Check verifies every invariant
// the package maintains.
package namespace
