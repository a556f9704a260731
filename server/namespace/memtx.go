package namespace

import "bytes"

// MemTx is an ordered in-memory Tx (a skip list), for tests, the model
// suite and benchmarks. It is not safe for concurrent use. Level choice uses
// a fixed-seed generator, so equal histories build equal lists.
type MemTx struct {
	head  memNode
	level int
	n     int
	rng   uint64
	// prev is scratch for the update path of a write.
	prev [memMaxLevel]*memNode
}

const memMaxLevel = 24

type memNode struct {
	key, val []byte
	next     []*memNode
}

var _ Tx = (*MemTx)(nil)

// NewMemTx returns an empty MemTx.
func NewMemTx() *MemTx {
	return &MemTx{head: memNode{next: make([]*memNode, memMaxLevel)}, level: 1, rng: 0x9E3779B97F4A7C15}
}

// Len returns the number of keys.
func (m *MemTx) Len() int { return m.n }

// seek fills m.prev with the last node before key at each level and returns
// the first node at or after key.
func (m *MemTx) seek(key []byte) *memNode {
	x := &m.head
	for i := m.level - 1; i >= 0; i-- {
		for x.next[i] != nil && bytes.Compare(x.next[i].key, key) < 0 {
			x = x.next[i]
		}
		m.prev[i] = x
	}
	return x.next[0]
}

// Get implements Reader.
func (m *MemTx) Get(key []byte) ([]byte, bool, error) {
	x := &m.head
	for i := m.level - 1; i >= 0; i-- {
		for x.next[i] != nil && bytes.Compare(x.next[i].key, key) < 0 {
			x = x.next[i]
		}
	}
	if x = x.next[0]; x != nil && bytes.Equal(x.key, key) {
		return x.val, true, nil
	}
	return nil, false, nil
}

// Scan implements Reader.
func (m *MemTx) Scan(start, end []byte, fn func(key, value []byte) bool) error {
	x := &m.head
	for i := m.level - 1; i >= 0; i-- {
		for x.next[i] != nil && bytes.Compare(x.next[i].key, start) < 0 {
			x = x.next[i]
		}
	}
	for x = x.next[0]; x != nil; x = x.next[0] {
		if end != nil && bytes.Compare(x.key, end) >= 0 {
			return nil
		}
		if !fn(x.key, x.val) {
			return nil
		}
	}
	return nil
}

// Put implements Tx.
func (m *MemTx) Put(key, value []byte) error {
	val := append(make([]byte, 0, len(value)), value...)
	if x := m.seek(key); x != nil && bytes.Equal(x.key, key) {
		x.val = val
		return nil
	}
	lvl := m.randomLevel()
	for i := m.level; i < lvl; i++ {
		m.prev[i] = &m.head
	}
	m.level = max(m.level, lvl)
	x := &memNode{key: append([]byte(nil), key...), val: val, next: make([]*memNode, lvl)}
	for i := 0; i < lvl; i++ {
		x.next[i] = m.prev[i].next[i]
		m.prev[i].next[i] = x
	}
	m.n++
	return nil
}

// Delete implements Tx.
func (m *MemTx) Delete(key []byte) error {
	x := m.seek(key)
	if x == nil || !bytes.Equal(x.key, key) {
		return nil
	}
	for i := 0; i < len(x.next); i++ {
		m.prev[i].next[i] = x.next[i]
	}
	m.n--
	return nil
}

func (m *MemTx) randomLevel() int {
	lvl := 1
	for lvl < memMaxLevel {
		m.rng ^= m.rng << 13
		m.rng ^= m.rng >> 7
		m.rng ^= m.rng << 17
		if m.rng&3 != 0 {
			break
		}
		lvl++
	}
	return lvl
}

// Clone returns an independent copy.
func (m *MemTx) Clone() *MemTx {
	c := NewMemTx()
	m.Scan(nil, nil, func(k, v []byte) bool {
		c.Put(k, v)
		return true
	})
	return c
}
