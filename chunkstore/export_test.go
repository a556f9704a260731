package chunkstore

// KeepsSumInMetadata reports whether s keeps sums in blob metadata (every
// backend but file://, which keeps them in an extended attribute).
func KeepsSumInMetadata(s *Store) bool { return s.dir == "" }

// DirectWrites is how many chunks s wrote with direct I/O.
func DirectWrites(s *Store) int64 { return s.directWrites.Load() }
