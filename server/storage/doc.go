// Package storage is a node's Pebble engine: one database holding every
// shard's replicated state, Raft log and hard state.
package storage
