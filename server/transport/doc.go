// Package transport carries Raft messages between nodes over gRPC, batched
// per destination node and multiplexed by shard (the Peer service of
// peer.proto).
//
// # Sending
//
// Send never blocks. Each destination node has a bounded queue
// (queueLen messages; when it is full the message is dropped and
// Handler.ReportUnreachable is called) and one sender goroutine that owns the
// gRPC connection and a long-lived client stream. The sender takes every
// queued message (up to maxBatchMsgs / maxBatchBytes) into one PeerBatch per
// stream write. When a write fails the stream is dropped, the batch's shards
// are reported unreachable, and messages are dropped (and reported) until the
// next attempt, which backs off from 50 ms to at most 1 s. The connection
// itself reconnects with the same bounds.
//
// MsgSnap goes on its own Snapshot stream, in a goroutine per snapshot: the
// first chunk carries the message, then the state is streamed in chunks from
// Handler.WriteSnapshot, and the outcome goes to Handler.ReportSnapshot.
//
// # WAN emulation
//
// Config.Link(to) says how the emulated WAN treats a destination. When its
// Delay > 0, each message is stamped when Send is called and released to the
// stream at stamp + delay. Release times are kept monotonic per destination,
// so order is preserved, and the sender only waits for the head of the
// queue: messages sent back to back leave back to back, one delay later
// (pipelining is kept; nothing waits a full delay per message).
//
// While the link is Cut (a blackhole between two sites) a message is lost
// when sent, and a batch still on its way is lost when released, both
// without a report to raft: a real network does not say what it dropped.
// A snapshot stream to a cut destination fails (before it starts, or at the
// next chunk) and is reported as not delivered, since raft waits for that
// report before it sends the follower anything else.
//
// # Receiving
//
// Register adds the Peer service to a grpc.Server. Each received batch is
// handed message by message to Handler.Step (which may block: back-pressure
// on the stream); a snapshot stream is handed to Handler.StepSnapshot as an
// io.Reader that yields the data chunks and fails if the stream breaks
// before the last chunk. The server's MaxRecvMsgSize must exceed the largest
// single Raft message plus maxBatchBytes slack.
package transport
