package chunkstore

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// maxIDLen bounds an ID; NewID makes 32 characters.
const maxIDLen = 128

// NewID returns a fresh chunk ID: 128 random bits as 32 hex digits. IDs are
// unique per upload, never content hashes, because chunks are deleted by
// reference count per ID.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics instead)
	return hex.EncodeToString(b[:])
}

// ValidID reports whether id may name a chunk: 1 to 128 characters of
// [0-9A-Za-z_-]. The rule keeps IDs safe as file names and object keys
// (no separators, no dots, so no clash with temporary files).
func ValidID(id string) error {
	if len(id) == 0 || len(id) > maxIDLen {
		return fmt.Errorf("%w: length %d", ErrInvalidID, len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("%w: %q", ErrInvalidID, id)
		}
	}
	return nil
}
