package chunkstore

// KeepsSumInMetadata reports whether s keeps sums in blob metadata (every
// backend but file://, which keeps them in an extended attribute).
func KeepsSumInMetadata(s *Store) bool { return s.dir == "" }
