//go:build !linux

package chunkstore

import "os"

// writeSum records nothing where user xattrs are not wired up: Get hashes
// file:// chunks as it sends them.
func writeSum(*os.File, []byte) {}

// readSum finds no recorded sum.
func readSum(string) ([]byte, error) { return nil, nil }
