package namespace

import "encoding/binary"

// Key layout (shard-relative; storage adds the shard prefix). Integers are
// big-endian so that scans run in numeric order.
//
//	'm'                      meta: counters (metaRecord)
//	'i' ino                  inode attributes (inode, fixed 74 bytes)
//	'd' parent name          dentry: child ino (8) + file type (1)
//	'x' ino name             xattr value
//	'l' ino                  symlink target
//	'L' ino                  file layout (extents)
//	'k' chunk                chunk record: refcount + ChunkRef
//	'q' chunk                chunk queued for deletion: ChunkRef
//	't' chunk                chunk swept as never committed: command time (8)
//	'o' ino                  orphan: unlinked inode kept alive by open handles
//	'c' client               session: acked seq, last seen, timeout
//	'e' time client          session expiry index (lazy; may hold stale rows);
//	                         at time MinInt64 a reap row: handles up to
//	                         this ID (8) of the client's ended sessions
//	                         are still to be released
//	'h' client handle        open handle: ino + flags
//	'r' client seq           stored result for exactly-once
//	's'                      home site
const (
	pfxMeta    = 'm'
	pfxInode   = 'i'
	pfxDentry  = 'd'
	pfxXattr   = 'x'
	pfxSymlink = 'l'
	pfxLayout  = 'L'
	pfxChunk   = 'k'
	pfxQueue   = 'q'
	pfxSwept   = 't'
	pfxOrphan  = 'o'
	pfxClient  = 'c'
	pfxExpiry  = 'e'
	pfxHandle  = 'h'
	pfxResult  = 'r'
	pfxHome    = 's'
)

var (
	keyMeta = []byte{pfxMeta}
	keyHome = []byte{pfxHome}
)

func key1(b []byte, pfx byte, v uint64) []byte {
	b = append(b[:0], pfx)
	return binary.BigEndian.AppendUint64(b, v)
}

func key2(b []byte, pfx byte, v, w uint64) []byte {
	b = key1(b, pfx, v)
	return binary.BigEndian.AppendUint64(b, w)
}

func keyName(b []byte, pfx byte, v uint64, name string) []byte {
	b = key1(b, pfx, v)
	return append(b, name...)
}

func inodeKey(b []byte, ino Ino) []byte { return key1(b, pfxInode, uint64(ino)) }

func dentryKey(b []byte, parent Ino, name string) []byte {
	return keyName(b, pfxDentry, uint64(parent), name)
}

func xattrKey(b []byte, ino Ino, name string) []byte {
	return keyName(b, pfxXattr, uint64(ino), name)
}

func symlinkKey(b []byte, ino Ino) []byte { return key1(b, pfxSymlink, uint64(ino)) }
func layoutKey(b []byte, ino Ino) []byte  { return key1(b, pfxLayout, uint64(ino)) }
func orphanKey(b []byte, ino Ino) []byte  { return key1(b, pfxOrphan, uint64(ino)) }

func chunkKey(b []byte, id string) []byte { return append(append(b[:0], pfxChunk), id...) }
func queueKey(b []byte, id string) []byte { return append(append(b[:0], pfxQueue), id...) }
func sweptKey(b []byte, id string) []byte { return append(append(b[:0], pfxSwept), id...) }

func clientKey(b []byte, c ClientID) []byte { return key1(b, pfxClient, uint64(c)) }

func handleKey(b []byte, c ClientID, h HandleID) []byte {
	return key2(b, pfxHandle, uint64(c), uint64(h))
}

func resultKey(b []byte, c ClientID, seq uint64) []byte {
	return key2(b, pfxResult, uint64(c), seq)
}

// expiryKey orders sessions by deadline; the sign bit is flipped so negative
// times sort first.
func expiryKey(b []byte, at int64, c ClientID) []byte {
	return key2(b, pfxExpiry, uint64(at)^(1<<63), uint64(c))
}

func decodeExpiryKey(k []byte) (int64, ClientID, bool) {
	if len(k) != 17 || k[0] != pfxExpiry {
		return 0, 0, false
	}
	at := int64(binary.BigEndian.Uint64(k[1:]) ^ (1 << 63))
	return at, ClientID(binary.BigEndian.Uint64(k[9:])), true
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// u64At decodes the big-endian integer at k[off:].
func u64At(k []byte, off int) uint64 { return binary.BigEndian.Uint64(k[off:]) }
