// Package client is the Go client of geomds: a path API and an inode API over
// the Namespace service, and the Cluster administration calls.
//
// # Calls
//
// Every method is one RPC (ReadDir fetches every page; Remove adds an rmdir
// when unlink says EISDIR), safe for concurrent use, and bounded by its ctx
// and by Config.RequestTimeout (each attempt also by AttemptTimeout). A call that fails with a retryable condition — gRPC
// Unavailable (connection errors and the server reasons NO_LEADER, NO_QUORUM,
// STOPPED), or DeadlineExceeded while the caller's ctx is still alive — is
// retried on the next endpoint with backoff until it succeeds, fails for good,
// or runs out of time.
//
// # Exactly-once mutations
//
// A Client has a random client ID. Each Mutate takes the next sequence number
// and keeps it on every retry, so the state machine answers a retry with the
// first outcome instead of applying the command twice. acked_seq tells the
// state machine which results it may forget: every seq at or below it has
// returned from Mutate, successfully or not. A seq that was abandoned
// (ctx ended) counts as answered: the client never sends it again.
//
// # Consistency
//
// Reads carry ReadOptions from Config: STRONG (linearizable), SESSION (the
// highest applied index the client has seen in any reply, mutations
// included, so reads observe the client's own writes and never go back), or
// STALE (served locally when at most MaxStaleness old). LastMeta says who
// served the latest reply and how stale it could be.
//
// # Routing
//
// Endpoints at the caller's site come first, then the others by measured
// round trip, then in the order given; the endpoint that last answered is
// kept (sticky) within its class; an endpoint that just failed is tried last
// for a short while. Mutations go first to the leader when a reply named it
// and it is one of the endpoints (any node accepts writes, so this only saves
// the forwarding hop). Node names and sites are learnt from a Status probe
// started by New and from every ReplyMeta.
//
// # Errors
//
// Errors are *Error values carrying the Linux errno of the failure, mapped
// back from the gRPC status and its ErrorInfo detail; errors.Is matches them
// against fs.ErrNotExist, fs.ErrExist, fs.ErrPermission, syscall.Errno and
// other *Error values. A call that ran out of time unwraps to the ctx error.
package client
