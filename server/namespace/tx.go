package namespace

// Reader reads one shard's state. Keys are shard-relative (storage adds the
// shard prefix).
type Reader interface {
	// Get returns the value of key. The value is valid until the next write
	// to the Tx; callers must not modify it.
	Get(key []byte) (value []byte, ok bool, err error)
	// Scan calls fn for each key in [start, end) in ascending order; end nil
	// means to the end of the shard. fn returns false to stop. key and value
	// are valid only during fn, and fn must not write to the Tx.
	Scan(start, end []byte, fn func(key, value []byte) bool) error
}

// Tx is a Reader that also writes. Reads see the Tx's own writes. Put and
// Delete copy their arguments, so callers may reuse buffers.
type Tx interface {
	Reader
	Put(key, value []byte) error
	Delete(key []byte) error
}
