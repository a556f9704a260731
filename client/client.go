package client

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/grpc/metadata"
)

// Client talks to a geomds cluster. It is safe for concurrent use.
type Client struct {
	cfg  Config
	id   uint64      // random client ID of the exactly-once table
	eps  []*endpoint // fixed after New
	seqs seqTracker

	applied  atomic.Uint64 // highest applied index seen in any reply
	lastMeta atomic.Pointer[pb.ReplyMeta]
	lowSpace atomic.Bool // the latest reply said a member is low on space

	mu     sync.Mutex // guards sticky, leader and the endpoints' learnt fields
	sticky *endpoint  // the endpoint that answered last
	leader string     // node name of the last leader hint

	stopProbe context.CancelFunc
	probes    sync.WaitGroup

	keeperMu sync.Mutex     // guards keeper
	keeper   *sessionKeeper // renews the session while Files are open; nil when none are

	releases releaser // handles of closed Files, released in the background (release.go)

	directFailed sync.Once // logs the first failed direct chunk write (chunkdirect.go)
}

// New connects to cfg.Endpoints (lazily: an unreachable node is no error)
// and starts learning their sites. When cfg.Site is set, New waits briefly
// (bounded by ctx) until an endpoint at that site answers, so the first call
// is already routed locally.
func New(ctx context.Context, cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if st := cfg.ChunkStore; st != nil && st.Site() != cfg.Site {
		return nil, &Error{Errno: pb.Errno_EINVAL, Op: "dial", Msg: fmt.Sprintf("chunk store of site %q given to a client of site %q", st.Site(), cfg.Site)}
	}
	c := &Client{cfg: cfg, id: newClientID()}
	for _, addr := range cfg.Endpoints {
		addr = strings.TrimSpace(addr)
		if addr == "" || slices.ContainsFunc(c.eps, func(ep *endpoint) bool { return ep.addr == addr }) {
			continue
		}
		conn, err := dial(addr)
		if err != nil {
			c.closeConns()
			return nil, &Error{Errno: pb.Errno_EINVAL, Op: "dial", Path: addr, Msg: err.Error()}
		}
		var ns pb.NamespaceClient = pb.NewNamespaceClient(conn)
		if !cfg.NoBatching {
			ns = newBatchingNS(ns)
		}
		c.eps = append(c.eps, &endpoint{addr: addr, index: len(c.eps), conn: conn,
			ns: ns, cl: pb.NewClusterClient(conn)})
	}
	if len(c.eps) == 0 {
		return nil, &Error{Errno: pb.Errno_EINVAL, Op: "dial", Msg: "no endpoints"}
	}
	c.startProbe(ctx)
	return c, nil
}

// newClientID returns a random nonzero client ID.
func newClientID() uint64 {
	for {
		if id := rand.Uint64(); id != 0 {
			return id
		}
	}
}

// Close sends the handle releases still queued (release.go), stops the
// background probe and closes every connection. Calls in flight fail.
func (c *Client) Close() error {
	c.stopReleases()
	c.stopProbe()
	c.probes.Wait()
	c.stopKeeper()
	return c.closeConns()
}

func (c *Client) closeConns() error {
	var errs []error
	for _, ep := range c.eps {
		errs = append(errs, ep.conn.Close())
	}
	return errors.Join(errs...)
}

// LastMeta returns the meta of the most recent reply (who served it, how
// stale it could be), or nil before the first.
func (c *Client) LastMeta() *pb.ReplyMeta { return c.lastMeta.Load() }

// ID returns the client ID used for exactly-once mutations and sessions.
func (c *Client) ID() uint64 { return c.id }

// outgoing adds the caller's site to ctx's gRPC metadata.
func (c *Client) outgoing(ctx context.Context) context.Context {
	if c.cfg.Site == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, siteMetadataKey, c.cfg.Site)
}

// order returns the endpoints in the order a call should try them.
func (c *Client) order(mutation bool) []*endpoint {
	now := time.Now()
	ranks := make(map[*endpoint]rank, len(c.eps))
	c.mu.Lock()
	for _, ep := range c.eps {
		ranks[ep] = c.rankLocked(ep, now, mutation)
	}
	c.mu.Unlock()
	eps := slices.Clone(c.eps)
	slices.SortFunc(eps, func(a, b *endpoint) int { return ranks[a].compare(ranks[b]) })
	return eps
}

func (c *Client) rankLocked(ep *endpoint, now time.Time, mutation bool) rank {
	r := rank{
		down:      ep.down(now),
		notLeader: mutation && (c.leader == "" || ep.node != c.leader),
		remote:    c.cfg.Site == "" || ep.site != c.cfg.Site,
		notSticky: ep != c.sticky,
		rtt:       ep.rtt,
		index:     ep.index,
	}
	if r.rtt == 0 {
		r.rtt = math.MaxInt64
	}
	return r
}

// succeeded records that ep answered; meta may be nil (a reply without
// meta, or a non-retryable error such as ENOENT).
func (c *Client) succeeded(ep *endpoint, meta *pb.ReplyMeta) {
	c.mu.Lock()
	c.sticky = ep
	ep.failedAt = time.Time{}
	c.learnLocked(ep, meta)
	c.mu.Unlock()
	if meta != nil {
		c.lowSpace.Store(meta.GetLowSpace())
		c.lastMeta.Store(meta)
		c.noteApplied(meta.GetAppliedIndex())
	}
}

// failed records a retryable failure of ep.
func (c *Client) failed(ep *endpoint, e *Error) {
	c.mu.Lock()
	ep.failedAt = time.Now()
	if e.leader != "" {
		c.leader = e.leader
	}
	c.mu.Unlock()
}

// learnLocked records who served a reply and the leader it named.
func (c *Client) learnLocked(ep *endpoint, meta *pb.ReplyMeta) {
	if meta.GetNode() != "" {
		ep.node = meta.GetNode()
		if meta.GetSite() != "" {
			ep.site = meta.GetSite()
		}
	}
	if meta.GetLeader() != "" {
		c.leader = meta.GetLeader()
	}
}

// learnNodes records the names and sites of endpoints listed by Status.
func (c *Client) learnNodes(nodes []*pb.NodeStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range nodes {
		for _, ep := range c.eps {
			if ep.addr == n.GetAddress() && n.GetName() != "" {
				ep.node, ep.site = n.GetName(), n.GetSite()
			}
		}
	}
}

// noteApplied raises the highest applied index seen to i.
func (c *Client) noteApplied(i uint64) {
	for {
		cur := c.applied.Load()
		if i <= cur || c.applied.CompareAndSwap(cur, i) {
			return
		}
	}
}
