package storage

import "go.etcd.io/raft/v3/raftpb"

// entryCache holds the newest entries of a raft log, so that Term and
// Entries on the hot path (appending to followers, applying just-committed
// entries) do not touch Pebble. When not empty it always covers
// [firstIndex(), last index of the log]: appends extend it, truncation cuts
// its tail, eviction and compaction drop its head.
type entryCache struct {
	ents     []cachedEntry // consecutive indexes
	bytes    uint64        // sum of sizes
	maxCount int
	maxBytes uint64
}

type cachedEntry struct {
	e    *raftpb.Entry // shared with raft; never mutated
	size uint64        // proto.Size(e), as raft's size limits count it
}

const (
	cacheMaxEntries = 4096
	cacheMaxBytes   = 16 << 20
)

func newEntryCache() entryCache {
	return entryCache{maxCount: cacheMaxEntries, maxBytes: cacheMaxBytes}
}

func (c *entryCache) firstIndex() uint64 {
	if len(c.ents) == 0 {
		return 0
	}
	return c.ents[0].e.GetIndex()
}

// get returns the cached entry at index i, if held.
func (c *entryCache) get(i uint64) (cachedEntry, bool) {
	first := c.firstIndex()
	if len(c.ents) == 0 || i < first || i-first >= uint64(len(c.ents)) {
		return cachedEntry{}, false
	}
	return c.ents[i-first], true
}

// append adds entries starting at ents[0].Index, dropping any cached
// entries at or after it first. The caller guarantees contiguity with the
// log, so a gap (cache empty or evicted) simply restarts the cache.
func (c *entryCache) append(ents []cachedEntry) {
	if len(ents) == 0 {
		return
	}
	from := ents[0].e.GetIndex()
	if len(c.ents) > 0 && from >= c.firstIndex() && from <= c.firstIndex()+uint64(len(c.ents)) {
		c.truncateFrom(from)
	} else {
		c.clear()
	}
	for _, ce := range ents {
		c.ents = append(c.ents, ce)
		c.bytes += ce.size
	}
	c.evict()
}

func (c *entryCache) truncateFrom(i uint64) {
	keep := int(i - c.firstIndex())
	for j := keep; j < len(c.ents); j++ {
		c.bytes -= c.ents[j].size
		c.ents[j] = cachedEntry{}
	}
	c.ents = c.ents[:keep]
}

// dropBefore removes entries with index < i.
func (c *entryCache) dropBefore(i uint64) {
	n := 0
	for n < len(c.ents) && c.ents[n].e.GetIndex() < i {
		c.bytes -= c.ents[n].size
		c.ents[n] = cachedEntry{}
		n++
	}
	c.ents = c.ents[n:]
}

func (c *entryCache) evict() {
	n := 0
	for len(c.ents)-n > c.maxCount || (c.bytes > c.maxBytes && len(c.ents)-n > 1) {
		c.bytes -= c.ents[n].size
		c.ents[n] = cachedEntry{}
		n++
	}
	c.ents = c.ents[n:]
}

func (c *entryCache) clear() {
	clear(c.ents)
	c.ents = c.ents[:0]
	c.bytes = 0
}
