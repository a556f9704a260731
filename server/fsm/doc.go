// Package fsm is the replicated state machine of one shard on one node: it
// turns committed Raft entries into namespace commands applied to storage.
//
// Contract with the replica (see replica.StateMachine):
//   - Apply runs on the replica's goroutine only, with entries in log order.
//     All entries of one call are applied in one storage batch together with
//     the applied index, so the state and its index never disagree.
//   - The batch is committed without fsync: the Raft log holding the same
//     entries was synced before they could commit, so a crash that loses the
//     batch re-applies them from the log at restart. Pebble's single WAL
//     makes any later synced write (log append, compaction) durable only
//     with every earlier one, so the log is never truncated past state that
//     could still be lost.
//   - An error from storage or the namespace's Tx is returned, and the
//     replica stops (fail-stop): an entry is never skipped.
//   - Entries at or below the applied index are skipped (after a state
//     snapshot was restored, the state may be ahead of Raft's log).
//
// Besides the namespace, the state holds the member registry (who the nodes
// are, their sites and addresses), written when membership entries apply,
// so every replica — and a snapshot — knows how to reach every node.
package fsm
