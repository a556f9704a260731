package storage

// arena copies values out of Pebble into chunks it never reuses, so a value
// handed to a caller stays valid for as long as the caller holds it, at the
// cost of one allocation per chunk instead of one per value.
type arena struct{ buf []byte }

const (
	arenaMinChunk = 512
	arenaMaxChunk = 64 << 10
)

func (a *arena) copy(v []byte) []byte {
	if cap(a.buf)-len(a.buf) < len(v) {
		n := min(max(2*cap(a.buf), arenaMinChunk), arenaMaxChunk)
		a.buf = make([]byte, 0, max(n, len(v)))
	}
	start := len(a.buf)
	a.buf = append(a.buf, v...)
	return a.buf[start:len(a.buf):len(a.buf)] // capped: an append by the caller cannot clobber a neighbour
}
