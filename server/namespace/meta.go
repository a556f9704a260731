package namespace

import (
	"encoding/binary"
	"math"
)

// metaRecord holds the shard's counters. Every mutation that changes one
// writes it back, so StatFs is a single read.
type metaRecord struct {
	nextIno    Ino
	nextHandle HandleID
	inodes     uint64 // all inodes, orphans included
	files      uint64 // non-directory inodes
	dirs       uint64 // directories, / included
	bytes      uint64 // sum of regular file sizes
	// nextExpiry is a lower bound on the earliest session deadline; a
	// command at or after it scans the expiry index. MaxInt64: no sessions.
	nextExpiry int64
}

const (
	metaVersion    = 1
	metaRecordSize = 1 + 8*7
)

func (m *metaRecord) encode(b []byte) []byte {
	b = append(b[:0], metaVersion)
	for _, v := range [...]uint64{uint64(m.nextIno), uint64(m.nextHandle), m.inodes, m.files, m.dirs, m.bytes, uint64(m.nextExpiry)} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return b
}

func decodeMeta(v []byte) (metaRecord, bool) {
	if len(v) != metaRecordSize || v[0] != metaVersion {
		return metaRecord{}, false
	}
	d := decoder{b: v[1:]}
	m := metaRecord{nextIno: Ino(d.u64()), nextHandle: HandleID(d.u64())}
	m.inodes, m.files, m.dirs, m.bytes = d.u64(), d.u64(), d.u64(), d.u64()
	m.nextExpiry = int64(d.u64())
	return m, d.done()
}

func readMeta(r Reader) (metaRecord, error) {
	v, ok, err := r.Get(keyMeta)
	if err != nil {
		return metaRecord{}, err
	}
	if !ok {
		return metaRecord{}, corrupt("state: not initialised (no meta record)")
	}
	m, good := decodeMeta(v)
	if !good {
		return metaRecord{}, corrupt("meta record")
	}
	return m, nil
}

// count adjusts the counters for an inode of mode appearing (d=+1) or
// disappearing (d=-1).
func (m *metaRecord) count(mode uint32, size uint64, d int) {
	m.inodes = uint64(int64(m.inodes) + int64(d))
	if isDir(mode) {
		m.dirs = uint64(int64(m.dirs) + int64(d))
		return
	}
	m.files = uint64(int64(m.files) + int64(d))
	if isReg(mode) {
		m.bytes = uint64(int64(m.bytes) + int64(d)*int64(size))
	}
}

// Init creates the root directory (ino 1, mode 0755|S_IFDIR, uid 0) and the
// counters if absent. It is idempotent: an initialised state is left as is.
func Init(tx Tx, timeNs int64) error {
	_, ok, err := tx.Get(keyMeta)
	if err != nil || ok {
		return err
	}
	root := inode{ino: rootIno, mode: sIFDIR | 0o755, nlink: 2, parent: rootIno,
		atime: timeNs, mtime: timeNs, ctime: timeNs}
	if err := tx.Put(inodeKey(nil, rootIno), root.encode(nil)); err != nil {
		return err
	}
	m := metaRecord{nextIno: firstIno, nextHandle: 1, inodes: 1, dirs: 1, nextExpiry: math.MaxInt64}
	return tx.Put(keyMeta, m.encode(nil))
}
