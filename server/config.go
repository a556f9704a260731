package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Peer is one member of the initial cluster.
type Peer struct {
	Name, Site, Address string
}

// Config configures one node.
type Config struct {
	Name    string
	Site    string
	DataDir string
	Listen  string // host:port for clients and peers
	// Listener, when set, is used instead of listening on Listen (tests
	// create listeners first so every address is known before any start).
	Listener net.Listener
	// InitialCluster lists the founding members; node IDs are their
	// positions (1-based), identical on every node.
	InitialCluster []Peer
	// Join starts a node added with `geomdsctl members add`: it learns its
	// ID from the cluster and receives the state from the leader.
	Join bool
	// ChunkStore is the site's blob store URL; "" = file:// under DataDir.
	ChunkStore string
	// ChunkSweepGrace is how long a chunk in the site's store may stay
	// unknown to the metadata (an upload not yet committed) before it is
	// swept as abandoned (0 = chunk.DefaultSweepGrace, 24 h; negative = no
	// sweeping). ChunkSweepInterval is the pause between sweeps (default 1 h).
	ChunkSweepGrace    time.Duration
	ChunkSweepInterval time.Duration
	// MinFreeSpace is the free space (bytes) the node keeps on the file
	// systems of its data dir and of a file:// chunk store (0 = no
	// reserve). Below it the node reports itself low on space: while any
	// member is, the cluster refuses mutations that add metadata, and
	// this node refuses chunk uploads, with ENOSPC (space.go).
	MinFreeSpace uint64
	// FreeSpace measures the free bytes of the file system holding dir
	// (nil = statfs). A test seam.
	FreeSpace func(dir string) (uint64, error)
	// CommandVersion is the command version this node reports for itself
	// (0 = namespace.CommandVersion). Tests set a lower one to stand for a
	// node of an older version.
	CommandVersion uint64
	// RTT emulates WAN round trips between sites (nil = none).
	RTT RTT
	// WAN, when set, replaces RTT: one emulated network that the nodes of
	// an in-process cluster share, so a test can cut sites apart and heal
	// them while the nodes run. Set RTT or WAN, not both.
	WAN *WAN

	TickInterval    time.Duration // default from RTT: max(10ms, maxRTT/4)
	ElectionTicks   int           // default: about max(10 heartbeats, 1 s)
	HeartbeatTicks  int           // default: about the largest RTT
	SnapshotEntries uint64        // snapshot and compact every N entries (default 10000)
	CompactKeep     uint64        // entries kept behind a snapshot (default 5000)
	// NoQuorumAfter: with no leader heard from for this long, writes and
	// STRONG reads fail at once (default: 3 election timeouts, at least 3 s).
	NoQuorumAfter time.Duration
	// StorageFS replaces the file system under the node's storage (nil =
	// the OS). A test seam: fault-injecting file systems prove fail-stop.
	StorageFS vfs.FS
	// NoReadLease makes every STRONG read take a heartbeat round with a
	// quorum (raft's ReadOnlySafe) instead of trusting the leader's lease.
	NoReadLease bool
	// MetricsListen serves Prometheus metrics at /metrics ("" = off);
	// Pprof adds /debug/pprof there.
	MetricsListen string
	Pprof         bool
	Logger        *slog.Logger
}

// ParseInitialCluster parses "n1=east@host:port,n2=west@host:port,...".
func ParseInitialCluster(s string) ([]Peer, error) {
	var out []Peer
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, rest, ok1 := strings.Cut(part, "=")
		site, addr, ok2 := strings.Cut(rest, "@")
		if !ok1 || !ok2 || name == "" || site == "" || addr == "" {
			return nil, fmt.Errorf("initial cluster: %q is not NAME=SITE@HOST:PORT", part)
		}
		if seen[name] {
			return nil, fmt.Errorf("initial cluster: %q listed twice", name)
		}
		seen[name] = true
		out = append(out, Peer{Name: name, Site: site, Address: addr})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("initial cluster: empty")
	}
	return out, nil
}

// RTT is a round-trip time per pair of sites.
type RTT map[[2]string]time.Duration

// ParseRTT parses "east-west=30ms,east-north=40ms,...".
func ParseRTT(s string) (RTT, error) {
	out := RTT{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		pair, dur, ok := strings.Cut(part, "=")
		a, b, ok2 := strings.Cut(pair, "-")
		if !ok || !ok2 || a == "" || b == "" {
			return nil, fmt.Errorf("rtt: %q is not SITE-SITE=DURATION", part)
		}
		d, err := time.ParseDuration(dur)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("rtt: %q: bad duration", part)
		}
		out[[2]string{a, b}] = d
	}
	return out, nil
}

// Between is the round trip between two sites (0 within a site).
func (r RTT) Between(a, b string) time.Duration {
	if a == b || r == nil {
		return 0
	}
	if d, ok := r[[2]string{a, b}]; ok {
		return d
	}
	return r[[2]string{b, a}]
}

// Max is the largest round trip in the matrix.
func (r RTT) Max() time.Duration {
	var m time.Duration
	for _, d := range r {
		m = max(m, d)
	}
	return m
}

func (r RTT) String() string {
	var parts []string
	for k, d := range r {
		parts = append(parts, fmt.Sprintf("%s-%s=%s", k[0], k[1], d))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// emulation gives the node its WAN: the shared one, or its own built from
// RTT (never cut).
func (c *Config) emulation() error {
	switch {
	case c.WAN != nil && c.RTT != nil:
		return errors.New("config: set RTT or WAN, not both")
	case c.WAN == nil:
		c.WAN = NewWAN(c.RTT)
	}
	return nil
}

// WAN emulates the network between sites for tests, demos and benchmarks:
// a fixed round trip per pair of sites and, changeable while nodes run, a
// set of site pairs cut apart (a blackhole: nothing gets through either
// way). It is safe for concurrent use; the nodes of an in-process cluster
// share one, nodes started from flags each have their own, never cut.
type WAN struct {
	rtt RTT // fixed: Raft timing is derived from it at start

	mu  sync.RWMutex
	cut map[[2]string]bool // by pairKey; guarded by mu
}

// NewWAN returns an emulated network with the given round trips (nil =
// none) and no cut.
func NewWAN(rtt RTT) *WAN {
	return &WAN{rtt: rtt, cut: map[[2]string]bool{}}
}

// RTT is the round-trip matrix (nil = none).
func (w *WAN) RTT() RTT { return w.rtt }

// Between is the round trip between two sites, cut or not.
func (w *WAN) Between(a, b string) time.Duration { return w.rtt.Between(a, b) }

// Cut cuts sites a and b apart until Heal: peer messages between their
// nodes are lost, and client calls from one to the other are refused. A
// site is never cut from itself.
func (w *WAN) Cut(a, b string) {
	if a == b {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cut[pairKey(a, b)] = true
}

// Heal joins sites a and b again.
func (w *WAN) Heal(a, b string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.cut, pairKey(a, b))
}

// HealAll joins every pair again.
func (w *WAN) HealAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.cut)
}

// IsCut reports whether sites a and b are cut apart.
func (w *WAN) IsCut(a, b string) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.cut[pairKey(a, b)]
}

// pairKey orders a pair, since a cut is symmetric.
func pairKey(a, b string) [2]string {
	if b < a {
		a, b = b, a
	}
	return [2]string{a, b}
}

// timing derives Raft timing from the RTT matrix unless set explicitly:
// heartbeat ≈ the largest RTT, election ≥ 10 heartbeats and ≥ 1 s.
func (c *Config) timing() {
	maxRTT := c.WAN.RTT().Max()
	if c.TickInterval == 0 {
		c.TickInterval = max(10*time.Millisecond, maxRTT/4)
	}
	if c.HeartbeatTicks == 0 {
		c.HeartbeatTicks = max(1, int((maxRTT+c.TickInterval-1)/c.TickInterval))
		if maxRTT == 0 {
			c.HeartbeatTicks = 10 // 100 ms on a LAN
		}
	}
	if c.ElectionTicks == 0 {
		c.ElectionTicks = max(10*c.HeartbeatTicks, int(time.Second/c.TickInterval))
	}
	if c.NoQuorumAfter == 0 {
		c.NoQuorumAfter = max(3*time.Duration(c.ElectionTicks)*c.TickInterval, 3*time.Second)
	}
}
