// Package sim is geomds's deterministic simulation suite ("sim" in the
// project's testing docs). It has no exported API: everything lives in the
// package's tests.
//
// # How a run works
//
// One seed drives a whole cluster inside a testing/synctest bubble: three or
// five voters, each with real Pebble storage (server/storage) on a crashable
// in-memory file system, the real state machine (server/fsm over
// server/namespace) and a real replica (server/replica) whose clock moves
// only when the simulation calls Tick. The replica must run its own Ready
// loop goroutine (Run owns the RawNode; every other method hands work to
// it), so the simulation goroutine feeds exactly one input at a time — a
// Raft message, a tick, a client call, a fault — and then waits with
// synctest.Wait until every goroutine of the bubble is durably blocked: the
// loop has handled that input and all the Ready it caused. What the nodes
// sent and answered is then collected in node-ID order and routed by the
// simulated network. Time is a counter of simulated units (ten make a Raft
// tick); the bubble's fake clock never advances.
//
// Randomness comes from one math/rand/v2 PCG source seeded by the seed.
// Raft draws its randomized election timeouts from crypto/rand; the tests
// make that deterministic with testing/cryptotest.SetGlobalRandom, and since
// only one loop runs at a time, the draws happen in the same order. A seed
// therefore replays exactly, whatever ran before it in the process
// (TestSimDeterministic checks it). What still differs between runs, without
// changing the course of a run: the replica's proposal IDs start at a random
// value (8 header bytes of each entry), and Pebble's background goroutines
// run when the scheduler lets them (they do not change what is read).
// Leader transfers are requested through TransferLeader and its context is
// cancelled as soon as raft has the request, because TransferLeader re-asks
// from its own goroutine on every leader change, racing the loop.
//
// # What is injected
//
//   - network: per-message delay (hence reordering), drop, duplication;
//     partitions (symmetric splits, one-way cuts, isolation), replaced one by
//     another so they roll through the cluster; a MsgSnap carries the
//     sender's state stream (Replica.WriteSnapshot, delivered with
//     Replica.StepSnapshot), and its outcome is reported to the sender;
//   - nodes: crashes that keep only what was fsynced (vfs.MemFS.CrashClone),
//     either between inputs or at a crash point inside a Ready (before and
//     after each Save, ApplySnapshot; after Apply, RestoreSnapshot,
//     CreateSnapshot, Compact: whatever the node sent or answered after that
//     point is lost); power failure of every node; restarts from the same
//     files; pauses (a stopped process: no ticks, no messages, client
//     requests wait in its socket and race the queued messages when it
//     resumes);
//   - cluster: leader transfers, membership changes through the leader (add
//     a learner that starts empty and catches up, promote, remove), and a
//     snapshot and log compaction every few entries;
//   - clients: random mkdir, create, unlink, rmdir, rename (plain, noreplace,
//     exchange), chmod and linearizable stat (ReadIndex, then a local read)
//     on three names up to three levels deep, through random nodes, with
//     exactly-once (client_id, seq): a write is retried under the same seq
//     until an attempt returns a result.
//
// # What is checked
//
// After every input: at most one leader per term (leader-only messages name
// their sender); a node's term never goes back, its vote never changes
// within a term, such changes are synced, and a restarted node finds the
// term and vote it synced; a node never writes a different entry at an index
// it knows to be committed; an index applied anywhere holds the same entry
// and gives the same result everywhere; applies are gap-free; replicas at the
// same applied index hold the same state hash (after apply, restore and
// restart); a read's state is at or beyond its read index; no replica
// fail-stops. namespace.Check runs on every node's state at restart, after a
// snapshot is restored, every 500 units and at the end. At the end the
// clients' history must be linearizable against a sequential model of the
// namespace (porcupine, with inode numbers: creations must have happened in
// an order that explains them); an operation whose outcome was never
// learned may or may not have happened; a checker timeout is a failure.
// Liveness runs stop the faults at 2000 units: the cluster must then commit
// a write within 60 ticks, and every member of the final configuration must
// converge to one state and to a member registry that matches Raft's
// configuration.
//
// # Running it
//
//	go test ./server/sim                                  # CI: 300 safety + 150 liveness seeds
//	go test ./server/sim -run '^TestSim$' -sim.seeds=5000 # a longer hunt
//	go test ./server/sim -run '^TestSim$' -sim.seed=36 -v # replay one seed
//
// Flags: -sim.seeds=N (seeds per test), -sim.first=S (first seed of a
// range), -sim.seed=S (replay one seed), -sim.trace (print every run's trace
// tail and counts), -sim.tail=N (trace events printed), -sim.keepgoing
// (report every failing seed), -sim.leasepause (see below). A failure prints
// the last events of the trace, the operations that explain a linearizability
// failure, and the command that replays the seed.
//
// On the 2-core reference machine the default run takes about 30 s: about
// 50 ms per safety seed (3000 units, ~80 operations, ~9 crashes) and 90 ms
// per liveness seed.
//
// # Finding: lease reads after a pause
//
// With LeaseReads (the server's default), a leader answers ReadIndex from a
// lease counted in its own ticks. A leader that is cut off and then stopped
// (SIGSTOP, a long GC or VM pause) for longer than an election timeout
// resumes believing in its lease while another leader has committed writes,
// and can answer a read before it hears of the new term: a stale STRONG
// read (seed 36 with -sim.leasepause). The replica now distrusts its lease
// after a gap between ticks of more than half an election timeout, for two
// election timeouts — but it measures the gap on the wall clock, which only
// exists when Run drives the ticks. The sim drives ticks by hand, so it
// cannot show the guard working; its default runs pause leaders only when
// lease reads are off, and -sim.leasepause still pauses them in every run.
package sim
