// Package chunk is the gRPC service in front of a site's chunk store
// (package chunkstore, whose rules are recalled below), and chunk garbage
// collection.
//
// A chunk is an immutable piece of file content. A writer uploads chunks to
// its own site's store, then commits a layout that names them (SetLayout);
// readers fetch chunks from any site that holds them. The metadata, not the
// store, is the authority on which chunks exist: the store keeps bytes under
// an ID and nothing else that matters.
//
// # IDs
//
// A chunk ID is chosen by the writer, unique per upload (NewID: 128 random
// bits as 32 hex digits), and never derived from the content. Deletion is by
// reference count per ID, so two uploads of equal bytes must not share an ID.
// A valid ID is 1 to 128 characters of [0-9A-Za-z_-]; the store keeps it as
// the blob key unchanged, flat (no prefix, no fan-out).
//
// # Store
//
// Open takes a gocloud.dev/blob URL: file:///abs/dir (the directory is
// created; no metadata sidecar files), mem://, or
// s3://bucket?endpoint=...&region=...&use_path_style=true.
//
// A chunk's sum is a CRC-32C, or a SHA-256 for chunks written before
// (proto/chunksum; the length says which).
//
// Put reads exactly size bytes, summing them on their way to the blob, checks
// the count and the sum, and only then lets the blob become visible: on a
// mismatch, a short or long stream, or a cancelled ctx the write is aborted
// and nothing is left under the ID. On file:// the data and the directory
// entry are fsynced before Put returns (gocloud renames its temporary file
// without fsync, so the store does it). The sum is also kept: as blob
// metadata ("sum", hex) where the backend keeps metadata (mem, s3), and on
// file:// in the extended attribute user.geomds.sum (raw bytes) where the
// file system has user xattrs (Linux only; elsewhere none is kept). Chunks
// written before CRC-32C keep their SHA-256 under "sha256" and
// user.geomds.sha256, which are still read.
//
// Get reads [off, off+length) (length 0 = to the end); a range past the end
// is clamped, off beyond the size is ErrRange, a missing ID is ErrNotFound.
// Delete of a missing ID succeeds, so deletion is idempotent. Rewriting an
// existing ID replaces it; IDs are unique per upload, so a rewrite is a retry
// of the same bytes.
//
// # Wire format (service Chunks, proto/chunk.proto)
//
// Put is a client stream. The first PutChunkRequest carries id, size and
// sum (4 or 32 bytes); every message, the first included, may carry data;
// data after the first message is appended in order; only data is read from
// later messages. The server stores the chunk only if exactly size bytes
// arrived and their sum equals sum, then replies with its site. size
// is at most chunkstore.MaxChunkSize. Clients send data in messages of at most
// MessageSize (1 MiB) bytes.
//
// Get is a server stream. A request may name the sites that hold the chunk
// (its ChunkRef's); when this site's store lacks it and another site is
// named, the service reads the range from a node there (Service.Relay) and
// streams it as if it were local, so a client that reaches only its own
// site reads every file. The first GetChunkReply carries the chunk's size;
// every message may carry data, at most MessageSize bytes each, in order.
// When the request covers the whole chunk (offset 0 and length 0 or length >=
// size) the reply carries its sum too: in the first message when the store
// kept the sum at Put, otherwise (a file:// chunk without the xattr) in a last
// message without data, the CRC-32C of the bytes as the server read and sent
// them (summing while sending reads the chunk once). A reader of the whole
// chunk sums what it received and compares with the sum from either place,
// and should compare with the ChunkRef's sum from the metadata too: a sum
// computed from the stored bytes does not detect damage at rest. The number
// of data bytes is min(length, size-offset), so a short stream is detectable.
//
// Delete removes the chunk; a missing chunk is not an error.
//
// Errors carry an errno as in the rest of geomds: ENOENT (NotFound) for a
// missing chunk, EINVAL (InvalidArgument) for a bad ID, size, checksum or
// range, EIO (Internal) for a store failure; the status has an
// errdetails.ErrorInfo{Reason: "ENOENT", Domain: "geomds", Metadata:
// {"errno": "2"}}.
//
// # Collector
//
// Collector drains the metadata's queue of chunks no longer referenced: for
// each queued ChunkRef it deletes the blob at every site that holds it, and
// only when all those deletes succeeded does it confirm the ID (Confirm
// proposes DropChunks). A failed site leaves the ID queued for the next pass,
// and deletes are idempotent, so a pass can be repeated at any time. Only one
// node (the shard leader) should run it.
//
// # Sweeper
//
// Sweeper finds what the collector cannot: chunks in a site's store that no
// metadata names, because their writer crashed or gave up before committing
// a layout. Chunks older than its grace period whose IDs the local replica
// does not know are proposed in SweepChunks; the state machine decides
// (passing over any ID committed meanwhile, barring the rest from a later
// commit) and queues them, and the collector deletes them. A chunk in use is
// never deleted; a writer that commits more than the grace period after its
// upload gets ESTALE and must write again. Every node sweeps its own site's
// store.
package chunk
