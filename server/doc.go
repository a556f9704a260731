// Package server wires one geomds node: storage, the shard's state machine
// and replica, the peer transport, the chunk store and the gRPC services on
// one listener. It holds no logic of its own; see each package's doc.
//
// Goroutines: the replica's Ready loop (owns the Raft node), the transport's
// per-peer senders, the gRPC server, and the leader-placement loop. Stop
// ends them in reverse order of start.
package server
