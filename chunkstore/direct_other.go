//go:build !linux

package chunkstore

import (
	"errors"
	"os"
)

const haveDirectIO = false

var errNoDirectIO = errors.New("no direct I/O here")

func directIOable([]byte) bool { return false }

func openDirect(string) (*os.File, error) { return nil, errNoDirectIO }

const directAlign = 4096

func alignedBuffer(n int) []byte { return make([]byte, n) }
