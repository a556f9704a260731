// Package replica runs one Raft group (shard) on one node on top of
// go.etcd.io/raft/v3's RawNode. It knows nothing about files: it orders
// opaque commands, hands committed ones to a StateMachine in batches, and
// wakes the caller that proposed each one with the state machine's result.
//
// # Goroutine ownership
//
// Run is the only goroutine that touches the RawNode, the LogStore's write
// methods and the StateMachine's Apply and RestoreSnapshot (one LogStore.Save
// per Ready may run on a helper goroutine that Run waits for before it goes
// on; see step 4 below). Every other method
// is safe for concurrent use: it hands work to Run over a bounded channel and
// waits for the outcome (or its ctx). The bounds are:
//
//   - received messages (Step):        recvQueueLen (4096); Step blocks when full
//   - proposals (Propose):             proposalQueueLen (4096); Propose blocks when full
//   - control work (conf changes, leader transfer, snapshot steps, reports, Status):
//     controlQueueLen (256); ReportUnreachable drops when full, the rest block
//   - ticks:                           a counter plus a 1-slot signal (never blocks)
//
// # Ready loop order
//
// Each Ready is handled in this order, as raft's documentation requires:
//
//  1. rd.Snapshot, if any, is persisted first (LogStore.ApplySnapshot). The
//     state itself was already restored by StepSnapshot before raft saw it.
//  2. The leader sends rd.Messages before its own write (Raft thesis §10.2.1),
//     except responses that vouch for durability (MsgAppResp, MsgVoteResp,
//     MsgPreVoteResp); a follower sends only after step 4's write.
//  3. Read states are matched to the pending read round: a read state names
//     the index a read waits for, which the write below does not change.
//  4. One LogStore.Save of the hard state and new entries, synced when
//     rd.MustSync: one fsync per Ready, however many proposals it carries.
//     The committed entries that were already in this node's durable log
//     before the Ready (up to the first conf change) are applied while the
//     Save runs, and the durability responses leave as soon as it is done,
//     from the goroutine that ran it: the apply of one round's commits and
//     the fsync of the next round's entries overlap instead of taking turns.
//     No entry is applied before this node holds it durably. The state may
//     then reach the disk before the hard state that records the commit:
//     after a crash the state machine can be ahead of the durable commit
//     index, which restart handles as after a snapshot restore (raft's
//     applied index comes from the log, and entries at or below
//     StateMachine.Applied() are skipped).
//  5. The remaining rd.CommittedEntries go to StateMachine.Apply in one batch; conf changes
//     are applied to raft first (ApplyConfChange) and their ConfState is passed
//     in the Entry. Entries at or below StateMachine.Applied() are never
//     applied again (the state may be ahead of the log after a restore), but
//     their conf changes are still applied to raft. The applied index readers
//     see is raised before any proposer is woken with its result.
//  6. Advance.
//  7. Every Config.SnapshotEntries applied entries, and after every conf
//     change, LogStore.CreateSnapshot(applied, confState); the log is then
//     compacted up to applied-CompactKeep.
//
// # Proposals
//
// Propose prefixes an 8-byte proposal ID (node ID in the high 16 bits, a
// counter with a random start in the low 48) so the node that proposed an
// entry wakes its waiter when it applies the entry; other nodes ignore the
// ID. Proposals queued together go to raft as one MsgProp. A follower forwards
// proposals to the leader. When raft drops one because leadership is being
// decided (no leader known, or this leader transferring it) the loop parks
// it and steps it again once a leader accepts proposals — at most
// proposalQueueLen parked, for at most three election timeouts, then it fails
// with ErrNoLeader (park.go); other drops (uncommitted-size limit) fail at
// once with ErrNoLeader and the caller retries. A forwarded proposal the
// leader loses is only bounded by the caller's ctx, or failed with
// ErrOutcomeUnknown when the leader changes.
//
// # Snapshots
//
// Raft snapshots carry metadata only. When raft sends MsgSnap, the transport
// streams the sender's state with Replica.WriteSnapshot (the state is at or
// after the snapshot's index); the receiver's StepSnapshot restores it on
// the loop goroutine and then steps the message. Waiters for proposals and
// conf changes pending at that moment fail with ErrOutcomeUnknown: the
// entries the snapshot covers are never applied here, so their results are
// not known (callers retry; commands are exactly-once).
//
// # Restart
//
// raft replays the log from the LogStore's snapshot so that conf changes
// after it reach raft again; the state machine sees only entries above its
// own Applied().
//
// # Fail-stop
//
// Any LogStore or StateMachine error stops the replica: Run returns it,
// Stopped is closed, every waiter fails with ErrStopped, and nothing further
// is applied or sent.
package replica
