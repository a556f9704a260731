package replica

import "errors"

var (
	// ErrStopped: the replica has stopped (fail-stop or shut down); the
	// outcome of an in-flight proposal is unknown.
	ErrStopped = errors.New("replica: stopped")
	// ErrNoLeader: raft dropped the proposal or read (no known leader, a
	// leader transfer in progress, or back-pressure). Nothing was applied;
	// retry later or elsewhere.
	ErrNoLeader = errors.New("replica: no leader")
	// ErrOutcomeUnknown: the leader changed, or the state was replaced by a
	// snapshot from the leader, while the proposal waited, so its result
	// cannot be known here. It may or may not have been applied; retry with
	// the same request identity (commands are exactly-once per client
	// sequence).
	ErrOutcomeUnknown = errors.New("replica: leader changed or state restored; outcome unknown")
	// ErrConfChangePending: this node is already waiting for a conf change.
	ErrConfChangePending = errors.New("replica: conf change already pending")
)
