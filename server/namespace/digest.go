package namespace

import (
	"crypto/sha256"
	"encoding/binary"
)

// Digest hashes every key and value of r in key order (length-prefixed),
// so two replicas with equal state have equal digests.
func Digest(r Reader) ([32]byte, error) {
	h := sha256.New()
	var lb [8]byte
	err := r.Scan(nil, nil, func(k, v []byte) bool {
		binary.BigEndian.PutUint32(lb[:4], uint32(len(k)))
		binary.BigEndian.PutUint32(lb[4:], uint32(len(v)))
		h.Write(lb[:])
		h.Write(k)
		h.Write(v)
		return true
	})
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, err
}
