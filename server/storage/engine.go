package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Options configure an Engine.
type Options struct {
	FS         vfs.FS       // nil = the OS file system; tests use vfs.NewMem, vfs.NewStrictMem or errorfs
	Logger     *slog.Logger // nil = slog.Default()
	CacheBytes int64        // block cache size; 0 = defaultCacheBytes
	// StateCacheBytes bounds the apply path's cache of committed state
	// (see stateCache); 0 = defaultStateCacheBytes, negative = no cache.
	StateCacheBytes int64
}

const (
	defaultCacheBytes = 128 << 20
	bloomBitsPerKey   = 10 // ~1% false positives: a Get for an absent name rarely touches a table
)

// memTableBytes sizes memtables from the block cache: Pebble reserves the
// memory of live memtables (up to about three) inside the block cache, so
// memtables near the cache size would leave no room for blocks.
func memTableBytes(cache int64) uint64 {
	return uint64(min(max(cache/8, 1<<20), 64<<20))
}

// Engine is one node's Pebble database, holding every shard's state, Raft
// log and hard state. Its methods are safe for concurrent use.
type Engine struct {
	db  *pebble.DB
	log *slog.Logger

	failed atomic.Pointer[error] // first failed write; every later write returns it
	closed atomic.Bool

	mu   sync.Mutex          // guards logs
	logs map[uint64]*RaftLog // one per shard, so in-memory log bounds have a single owner

	writeMaps sync.Pool // map[string]pending reused across batches

	state *stateCache // committed state the apply path read or wrote
}

// Open opens (or creates) the engine in dir.
func Open(dir string, opts Options) (*Engine, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	db, err := pebble.Open(dir, pebbleOptions(opts, log))
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", dir, err)
	}
	stateBytes := opts.StateCacheBytes
	if stateBytes == 0 {
		stateBytes = defaultStateCacheBytes
	}
	return &Engine{db: db, log: log, logs: map[uint64]*RaftLog{}, state: newStateCache(stateBytes)}, nil
}

func pebbleOptions(opts Options, log *slog.Logger) *pebble.Options {
	cache := opts.CacheBytes
	if cache <= 0 {
		cache = defaultCacheBytes
	}
	o := &pebble.Options{
		FS:                         opts.FS,
		CacheSize:                  cache,
		MemTableSize:               memTableBytes(cache),
		FormatMajorVersion:         pebble.FormatNewest,
		Logger:                     pebbleLogger{log: log},
		CompactionConcurrencyRange: func() (int, int) { return 1, 2 },
	}
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(bloomBitsPerKey)
	}
	return o
}

// Close closes the database. Views must be closed first, and nothing may
// use the engine afterwards. Closing again is a no-op.
func (e *Engine) Close() error {
	if !e.closed.CompareAndSwap(false, true) {
		return nil
	}
	if err := e.db.Close(); err != nil {
		return fmt.Errorf("storage: close: %w", err)
	}
	return nil
}

// DiskUsage is the bytes the database occupies on disk (tables and WAL).
func (e *Engine) DiskUsage() uint64 {
	return e.db.Metrics().DiskSpaceUsage()
}

// Compact flushes the memtables and compacts the whole key space, so that
// DiskUsage reflects live data. For tests, benchmarks and admin tooling.
func (e *Engine) Compact(ctx context.Context) error {
	if err := e.db.Flush(); err != nil {
		return fmt.Errorf("storage: flush: %w", err)
	}
	end := keyspaceStart(^uint64(0), 0xff)
	if err := e.db.Compact(ctx, []byte{}, end, true); err != nil {
		return fmt.Errorf("storage: compact: %w", err)
	}
	return nil
}

// Applied returns the shard's durable-or-pending applied index and term
// (0, 0 for a shard that has applied nothing).
func (e *Engine) Applied(shard uint64) (index, term uint64, err error) {
	return readApplied(e.db, shard)
}

func readApplied(r pebble.Reader, shard uint64) (index, term uint64, err error) {
	v, ok, err := getCopy(r, keyspaceStart(shard, ksApplied), nil)
	if err != nil || !ok {
		return 0, 0, err
	}
	index, term, ok = decodeIndexTerm(v)
	if !ok {
		return 0, 0, fmt.Errorf("storage: shard %d: corrupt applied index (%d bytes)", shard, len(v))
	}
	return index, term, nil
}

// getCopy reads key from r, copying the value into a (or a fresh slice when
// a is nil) so that it outlives Pebble's closer.
func getCopy(r pebble.Reader, key []byte, a *arena) ([]byte, bool, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("storage: get: %w", err)
	}
	if a != nil {
		v = a.copy(v)
	} else {
		v = append([]byte{}, v...)
	}
	return v, true, closeErr(closer, nil)
}

// commit writes b to the DB. Any failure is sticky: Pebble's commit pipeline
// cannot be trusted after a WAL error, so the engine refuses further writes
// and the replica fail-stops.
func (e *Engine) commit(b *pebble.Batch, sync bool) (err error) {
	if err := e.failure(); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(*fatalError)
			if !ok {
				panic(r)
			}
			err = e.fail(f)
		}
	}()
	opts := pebble.NoSync
	if sync {
		opts = pebble.Sync
	}
	if err := b.Commit(opts); err != nil {
		return e.fail(err)
	}
	return nil
}

func (e *Engine) failure() error {
	if p := e.failed.Load(); p != nil {
		return *p
	}
	return nil
}

func (e *Engine) fail(cause error) error {
	err := fmt.Errorf("storage: write failed, engine stopped: %w", cause)
	if !e.failed.CompareAndSwap(nil, &err) {
		return *e.failed.Load()
	}
	e.log.Error("storage write failed; refusing further writes", "err", cause)
	return err
}

// closeErr closes c and keeps the first error.
func closeErr(c io.Closer, err error) error {
	if cerr := c.Close(); err == nil && cerr != nil {
		return fmt.Errorf("storage: %w", cerr)
	}
	return err
}
