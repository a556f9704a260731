package client

import (
	"cmp"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
)

// endpoint is one configured server address and what the client has learnt
// about it. The mutable fields are guarded by Client.mu.
type endpoint struct {
	addr  string
	index int // position in Config.Endpoints
	conn  *grpc.ClientConn
	ns    pb.NamespaceClient
	cl    pb.ClusterClient

	node     string        // node name, once a reply or Status said it
	site     string        // node's site, once known
	rtt      time.Duration // probe round trip; 0 = not measured
	failedAt time.Time     // last retryable failure; zero after a success
}

// failCooldown is how long an endpoint that failed is tried last.
const failCooldown = 3 * time.Second

// dial creates the (lazy) connection to addr.
func dial(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(maxMessageBytes),
			grpc.MaxCallSendMsgSize(maxMessageBytes)),
		// Pings only while a call is in flight and the connection has been
		// silent for 30 s: they detect a peer that vanished mid-call. The
		// server's keepalive enforcement must allow that interval.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time: 30 * time.Second, Timeout: 10 * time.Second}),
		// Reconnect quickly to a node that comes back.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: grpcbackoff.Config{BaseDelay: 100 * time.Millisecond,
				Multiplier: 1.6, Jitter: 0.2, MaxDelay: 3 * time.Second},
			MinConnectTimeout: 5 * time.Second}))
}

// rank orders endpoints for a call; smaller is better. Fields compare in
// order: healthy, the leader (mutations), same site, sticky, measured rtt,
// configured position.
type rank struct {
	down, notLeader, remote, notSticky bool
	rtt                                time.Duration // math.MaxInt64 when unknown
	index                              int
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (a rank) compare(b rank) int {
	return cmp.Or(
		cmp.Compare(b2i(a.down), b2i(b.down)),
		cmp.Compare(b2i(a.notLeader), b2i(b.notLeader)),
		cmp.Compare(b2i(a.remote), b2i(b.remote)),
		cmp.Compare(b2i(a.notSticky), b2i(b.notSticky)),
		cmp.Compare(a.rtt, b.rtt),
		cmp.Compare(a.index, b.index))
}

// down reports whether ep failed recently or its connection is failing.
func (ep *endpoint) down(now time.Time) bool {
	if !ep.failedAt.IsZero() && now.Sub(ep.failedAt) < failCooldown {
		return true
	}
	return ep.conn.GetState() == connectivity.TransientFailure
}
