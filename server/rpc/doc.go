// Package rpc holds the gRPC handlers of a node: the Namespace service
// (inode API and path API), the Cluster service (status, members, leader),
// and the error table that carries a namespace errno across gRPC.
//
// Handlers are thin: check the request, build a command or choose a read
// barrier, call the replica, read local storage, map the error. A mutation
// is stamped with this node's clock and proposed; any node accepts it, since
// followers forward proposals to the leader. A read waits for the barrier of
// its consistency level and then reads this node's storage:
//
//	STRONG   ReadIndex (one round trip to the leader), then a local read
//	SESSION  wait until applied >= the client's index, then a local read
//	STALE    a local read if the last contact with the leader is within the
//	         bound, otherwise STRONG
//
// Every reply says which node served it and how stale it may be.
package rpc
