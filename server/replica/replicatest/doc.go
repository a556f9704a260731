// Package replicatest provides in-memory implementations of the replica's
// LogStore and StateMachine for tests of the replica, the transport and the
// code that wires them.
package replicatest
