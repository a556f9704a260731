package namespace

import (
	"encoding/binary"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Ino is an inode number. The high 16 bits are reserved for a shard ID so an
// ino can be routed without a lookup; shard 1 (which owns /) uses plain
// counter values: ino 1 is /, new inodes count up from 2.
type Ino uint64

const (
	rootIno     Ino = 1
	firstIno    Ino = 2
	maxLocalIno Ino = 1<<48 - 1
)

// inode is the decoded attribute record of one inode.
type inode struct {
	ino                   Ino
	mode, nlink, uid, gid uint32
	size                  uint64 // bytes for files and symlinks; entry count for directories
	rdev                  uint64
	atime, mtime, ctime   int64  // ns since the epoch, from command time
	parent                Ino    // directories: the containing directory (/ is its own); 0 otherwise
	open                  uint32 // open handles referencing this inode
	xattrs                uint32 // number of xattrs, so removal scans only when needed
	flags                 uint8
}

const (
	inodeVersion    = 1
	inodeRecordSize = 1 + 4*4 + 8*2 + 8*3 + 8 + 4 + 4 + 1
	// flagLayout marks a regular file that has a 'L' layout record.
	flagLayout = 1
)

func (n *inode) encode(b []byte) []byte {
	b = append(b[:0], inodeVersion)
	b = binary.BigEndian.AppendUint32(b, n.mode)
	b = binary.BigEndian.AppendUint32(b, n.nlink)
	b = binary.BigEndian.AppendUint32(b, n.uid)
	b = binary.BigEndian.AppendUint32(b, n.gid)
	b = binary.BigEndian.AppendUint64(b, n.size)
	b = binary.BigEndian.AppendUint64(b, n.rdev)
	b = binary.BigEndian.AppendUint64(b, uint64(n.atime))
	b = binary.BigEndian.AppendUint64(b, uint64(n.mtime))
	b = binary.BigEndian.AppendUint64(b, uint64(n.ctime))
	b = binary.BigEndian.AppendUint64(b, uint64(n.parent))
	b = binary.BigEndian.AppendUint32(b, n.open)
	b = binary.BigEndian.AppendUint32(b, n.xattrs)
	return append(b, n.flags)
}

func decodeInode(ino Ino, v []byte) (inode, bool) {
	if len(v) != inodeRecordSize || v[0] != inodeVersion {
		return inode{}, false
	}
	d := decoder{b: v[1:]}
	n := inode{ino: ino}
	n.mode, n.nlink, n.uid, n.gid = d.u32(), d.u32(), d.u32(), d.u32()
	n.size, n.rdev = d.u64(), d.u64()
	n.atime, n.mtime, n.ctime = int64(d.u64()), int64(d.u64()), int64(d.u64())
	n.parent = Ino(d.u64())
	n.open, n.xattrs = d.u32(), d.u32()
	n.flags = d.u8()
	return n, d.done()
}

func (n *inode) attr() *pb.Attr {
	return &pb.Attr{
		Ino: uint64(n.ino), Mode: n.mode, Nlink: n.nlink, Uid: n.uid, Gid: n.gid,
		Size: n.size, Rdev: n.rdev, AtimeNs: n.atime, MtimeNs: n.mtime, CtimeNs: n.ctime,
	}
}

// getInode reads an inode; ok is false when it does not exist.
func getInode(r Reader, kb []byte, ino Ino) (inode, bool, error) {
	v, ok, err := r.Get(inodeKey(kb, ino))
	if err != nil || !ok {
		return inode{}, false, err
	}
	n, good := decodeInode(ino, v)
	if !good {
		return inode{}, false, corrupt("inode record")
	}
	return n, true, nil
}

// mustInode reads an inode, rejecting a missing one with ENOENT.
func mustInode(r Reader, kb []byte, ino Ino) (inode, error) {
	n, ok, err := getInode(r, kb, ino)
	if err == nil && !ok {
		err = fail(pb.Errno_ENOENT, "no such inode")
	}
	return n, err
}

// dentry is a decoded directory entry value.
type dentry struct {
	ino Ino
	typ uint32 // S_IFMT bits of the child
}

func encodeDentry(b []byte, ino Ino, mode uint32) []byte {
	b = binary.BigEndian.AppendUint64(b[:0], uint64(ino))
	return append(b, byte((mode&sIFMT)>>12))
}

func decodeDentry(v []byte) (dentry, bool) {
	if len(v) != 9 {
		return dentry{}, false
	}
	return dentry{ino: Ino(binary.BigEndian.Uint64(v)), typ: uint32(v[8]) << 12}, true
}

// getDentry looks up name in dir.
func getDentry(r Reader, kb []byte, dir Ino, name string) (dentry, bool, error) {
	v, ok, err := r.Get(dentryKey(kb, dir, name))
	if err != nil || !ok {
		return dentry{}, false, err
	}
	d, good := decodeDentry(v)
	if !good {
		return dentry{}, false, corrupt("dentry")
	}
	return d, true, nil
}
