package storage

import "sync"

// stateCache holds committed values of state keys (namespace and system
// keyspaces, every shard) that the apply path read or wrote, so the point
// reads of applying a command — a path walk, the parent directory, the
// session — do not search Pebble's memtables and tables each time. In a
// profile of a create-heavy load those searches were 40% of a follower's CPU.
//
// It mirrors the committed state exactly, which the determinism of apply
// depends on:
//   - it is filled only with committed values: read from the DB by a Batch
//     (while it is open nothing else writes its shard), or written by a
//     Batch whose commit succeeded;
//   - every successful Batch commit updates every key it wrote;
//   - any other change of state (RestoreState) or a failed commit clears it.
//
// Views never read it: they read a Pebble snapshot at one applied index.
// The apply path (one goroutine per shard) is its only user, so its mutex
// is uncontended but for several shards.
type stateCache struct {
	mu       sync.Mutex
	m        map[string]cachedValue // full DB key -> committed value or absence
	bytes    int64                  // estimated memory held (keys, values, overhead)
	maxBytes int64                  // bound; <= 0 disables the cache
}

// cachedValue is a committed value (never modified once cached) or the
// knowledge that the key is absent.
type cachedValue struct {
	v       []byte
	present bool
}

// cacheEntryOverhead approximates a map entry's memory beyond its key and
// value bytes (string header, slice header, flag, bucket share).
const cacheEntryOverhead = 64

const defaultStateCacheBytes = 64 << 20

func newStateCache(maxBytes int64) *stateCache {
	return &stateCache{m: make(map[string]cachedValue), maxBytes: maxBytes}
}

// get returns the cached value of key, if known.
func (c *stateCache) get(key []byte) (cachedValue, bool) {
	if c.maxBytes <= 0 {
		return cachedValue{}, false
	}
	c.mu.Lock()
	cv, ok := c.m[string(key)]
	c.mu.Unlock()
	return cv, ok
}

// fill records a committed value (or absence) read from the DB. v is
// copied: the caller's buffer may be reused.
func (c *stateCache) fill(key, v []byte, present bool) {
	if c.maxBytes <= 0 {
		return
	}
	c.mu.Lock()
	c.setLocked(string(key), cachedValue{v: clone(v), present: present})
	c.evictLocked()
	c.mu.Unlock()
}

// committed applies a committed batch's writes: each key's final value or
// deletion.
func (c *stateCache) committed(writes map[string]pending) {
	if c.maxBytes <= 0 {
		return
	}
	c.mu.Lock()
	for k, p := range writes {
		if p.written {
			c.setLocked(k, cachedValue{v: clone(p.value), present: !p.deleted})
		}
	}
	c.evictLocked()
	c.mu.Unlock()
}

// clear forgets everything: the state changed other than through a Batch.
func (c *stateCache) clear() {
	c.mu.Lock()
	clear(c.m)
	c.bytes = 0
	c.mu.Unlock()
}

func (c *stateCache) setLocked(k string, cv cachedValue) {
	if old, ok := c.m[k]; ok {
		c.bytes -= entryBytes(k, old)
	}
	c.m[k] = cv
	c.bytes += entryBytes(k, cv)
}

// evictLocked drops entries in map order (random) until the cache is at
// three quarters of its bound: cheap, and good enough for a working set
// that mostly fits.
func (c *stateCache) evictLocked() {
	if c.bytes <= c.maxBytes {
		return
	}
	for k, cv := range c.m {
		delete(c.m, k)
		c.bytes -= entryBytes(k, cv)
		if c.bytes <= c.maxBytes*3/4 {
			return
		}
	}
}

func entryBytes(k string, cv cachedValue) int64 {
	return int64(len(k) + len(cv.v) + cacheEntryOverhead)
}

// clone copies v (nil stays nil) so the cache never shares a caller's buffer.
func clone(v []byte) []byte {
	if v == nil {
		return nil
	}
	return append(make([]byte, 0, len(v)), v...)
}
