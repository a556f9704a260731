package server

import (
	"errors"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// peerConns are this node's client connections to the other members, by
// address, for the calls it makes as their client: round-trip probes,
// status forwarded to the leader, chunk relays and chunk deletions. Each is made at its first use and kept
// (a relayed read of a large file needs one per chunk window); close ends
// them all.
type peerConns struct {
	mu     sync.Mutex
	conns  map[string]*grpc.ClientConn // guarded by mu
	closed bool                        // guarded by mu
}

var errNodeStopped = errors.New("node stopped")

// siteKey is the gRPC metadata key in which a caller declares its site (a
// client, or this node calling another as its client).
const siteKey = "geomds-site"

// get returns the connection to addr, making it if needed.
func (p *peerConns) get(addr string) (*grpc.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errNodeStopped
	}
	if cc := p.conns[addr]; cc != nil {
		return cc, nil
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	if p.conns == nil {
		p.conns = map[string]*grpc.ClientConn{}
	}
	p.conns[addr] = cc
	return cc, nil
}

// close closes every connection; later gets fail.
func (p *peerConns) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cc := range p.conns {
		cc.Close()
	}
	p.conns, p.closed = nil, true
}
