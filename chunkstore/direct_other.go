//go:build !linux

package chunkstore

import (
	"errors"
	"os"
)

var errNoDirectIO = errors.New("no direct I/O here")

func directIOable([]byte) bool { return false }

func openDirect(string) (*os.File, error) { return nil, errNoDirectIO }
