package client

import (
	"context"
	"os"
	"time"

	"github.com/geomds/geomds/chunkstore"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Config configures a Client. Only Endpoints is required.
type Config struct {
	Endpoints []string // host:port of geomds nodes, in order of preference
	// Site is the caller's site. It orders endpoints (same site first) and
	// is declared to servers in the gRPC metadata key "geomds-site".
	Site         string
	Consistency  pb.Consistency // of every read
	MaxStaleness time.Duration  // STALE: how old a local answer may be
	Creds        *pb.Creds      // nil = the process's uid, gid and groups
	// RequestTimeout bounds each call, retries included (default 30 s).
	RequestTimeout time.Duration
	// AttemptTimeout bounds one attempt on one endpoint, so a hung node
	// costs at most this much before the next is tried (default
	// RequestTimeout/3).
	AttemptTimeout time.Duration
	// ChunkStore, if set, is the chunk store of the client's site (opened
	// with the URL the site's nodes were given, and the site's name): the
	// client writes its chunks there and reads chunks its site holds from
	// there itself, not through a node (chunkdirect.go). Its site should be
	// Site.
	ChunkStore *chunkstore.Store
	// CommitUploadsAfter bounds how long an open file's uploaded chunks
	// wait for a commit: that long after the first upload since the last
	// commit, the file's writes are committed as by Sync (default 1 h). A
	// file held open for days (a log) is so named by the metadata long
	// before the nodes' sweep of chunks no metadata names would take its
	// chunks (geomds serve --chunk-sweep-grace, 24 h).
	CommitUploadsAfter time.Duration
	// NoBatching sends every call as its own RPC. By default the Mutate,
	// Lookup and GetAttr calls that goroutines make at the same time to one
	// node travel together in one Batch RPC (batch.go).
	NoBatching bool
	// Explain, if set, is called once per RPC attempt (not for the
	// background probe) on the calling goroutine.
	Explain func(Trace)
}

// Trace describes one RPC attempt, for Config.Explain.
type Trace struct {
	Method      string // "Mutate", "GetAttr", "Status", ...
	Endpoint    string // the address called
	Node, Site  string // who served it, from ReplyMeta (empty without a reply)
	Duration    time.Duration
	Consistency pb.Consistency // as the server reported it (reads)
	Staleness   time.Duration  // upper bound on the answer's age; 0 = linearizable
	Attempt     int            // 0 for the first attempt of a call
	// WANRoundTrips the server made between sites, and its time in the
	// handler (Duration minus ServerTime is the client–node transport).
	WANRoundTrips int
	ServerTime    time.Duration
	Err           error // nil on success
}

const (
	defaultRequestTimeout = 30 * time.Second
	// defaultCommitUploadsAfter: well inside the nodes' default sweep grace.
	defaultCommitUploadsAfter = time.Hour
	siteMetadataKey           = "geomds-site"
	maxMessageBytes           = 16 << 20
)

// withDefaults returns cfg with zero fields filled in.
func (cfg Config) withDefaults() Config {
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = defaultRequestTimeout
	}
	if cfg.AttemptTimeout <= 0 || cfg.AttemptTimeout > cfg.RequestTimeout {
		cfg.AttemptTimeout = cfg.RequestTimeout / 3
	}
	if cfg.Creds == nil {
		cfg.Creds = processCreds()
	}
	if cfg.CommitUploadsAfter <= 0 {
		cfg.CommitUploadsAfter = defaultCommitUploadsAfter
	}
	return cfg
}

// processCreds returns the credentials of this process.
func processCreds() *pb.Creds {
	c := &pb.Creds{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())}
	groups, _ := os.Getgroups() // no supplementary groups is a safe answer
	for _, g := range groups {
		c.Groups = append(c.Groups, uint32(g))
	}
	return c
}

type credsKey struct{}

// WithCreds returns a ctx whose calls act as c instead of Config.Creds (a
// FUSE layer passes each request's caller this way).
func WithCreds(ctx context.Context, c *pb.Creds) context.Context {
	return context.WithValue(ctx, credsKey{}, c)
}

// credsFor returns the credentials a call made with ctx acts as.
func (c *Client) credsFor(ctx context.Context) *pb.Creds {
	if cr, ok := ctx.Value(credsKey{}).(*pb.Creds); ok && cr != nil {
		return cr
	}
	return c.cfg.Creds
}
