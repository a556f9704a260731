package chunkstore

import "errors"

// Errors of the store; match with errors.Is.
var (
	ErrNotFound  = errors.New("chunk not found")
	ErrChecksum  = errors.New("chunk checksum mismatch")
	ErrSize      = errors.New("chunk size mismatch")
	ErrInvalidID = errors.New("invalid chunk id")
	ErrRange     = errors.New("offset beyond the end of the chunk")
	ErrTooLarge  = errors.New("chunk too large")
)
