package namespace

import (
	"strings"
	"testing"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// corruptions each damage a healthy state in one way Check must notice.
var corruptions = []struct {
	name, want string
	damage     func(t *testing.T, tx *MemTx)
}{
	{"nlink", "nlink", func(t *testing.T, tx *MemTx) { editInode(t, tx, 3, func(n *inode) { n.nlink = 5 }) }},
	{"dir size", "size", func(t *testing.T, tx *MemTx) { editInode(t, tx, 2, func(n *inode) { n.size++ }) }},
	{"dangling dentry", "missing inode", func(t *testing.T, tx *MemTx) {
		tx.Put(dentryKey(nil, 2, "ghost"), encodeDentry(nil, 999, sIFREG))
	}},
	{"lost inode", "dentries", func(t *testing.T, tx *MemTx) { tx.Delete(dentryKey(nil, 2, "f")) }},
	{"wrong type", "type", func(t *testing.T, tx *MemTx) {
		tx.Put(dentryKey(nil, 2, "f"), encodeDentry(nil, 3, sIFDIR))
	}},
	{"counter", "counters", func(t *testing.T, tx *MemTx) {
		m, _ := readMeta(tx)
		m.files++
		tx.Put(keyMeta, m.encode(nil))
	}},
	{"unmarked orphan", "orphan", func(t *testing.T, tx *MemTx) {
		editInode(t, tx, 3, func(n *inode) { n.nlink = 0 })
		tx.Delete(dentryKey(nil, 2, "f"))
	}},
	{"open count", "open count", func(t *testing.T, tx *MemTx) { editInode(t, tx, 3, func(n *inode) { n.open = 2 }) }},
	{"xattr count", "xattr", func(t *testing.T, tx *MemTx) { tx.Put(xattrKey(nil, 3, "user.z"), []byte("v")) }},
	{"chunk refcount", "refcount", func(t *testing.T, tx *MemTx) {
		tx.Put(chunkKey(nil, "c"), encodeChunk(nil, 7, &pb.ChunkRef{Id: "c", Size: 4}))
	}},
	{"cycle", "reach", func(t *testing.T, tx *MemTx) { editInode(t, tx, 2, func(n *inode) { n.parent = 4 }) }},
	{"unknown key", "unknown", func(t *testing.T, tx *MemTx) { tx.Put([]byte("zzz"), nil) }},
	{"bad record", "bad inode", func(t *testing.T, tx *MemTx) { tx.Put(inodeKey(nil, 3), []byte{1, 2}) }},
	{"handle without session", "without session", func(t *testing.T, tx *MemTx) { tx.Delete(clientKey(nil, 1)) }},
}

func editInode(t *testing.T, tx *MemTx, ino Ino, fn func(*inode)) {
	n, err := mustInode(tx, nil, ino)
	if err != nil {
		t.Fatal(err)
	}
	fn(&n)
	tx.Put(inodeKey(nil, ino), n.encode(nil))
}

// TestCheckDetectsCorruption damages a healthy state in many ways and
// expects Check to name each problem.
func TestCheckDetectsCorruption(t *testing.T) {
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			s := newShell(t)
			s.run(`
mkdir /d
create /d/f open client=1
mkdir /d/sub
layout /d/f size=4 0:4:c new=c:4
setxattr /d/f user.a 1
`)
			if err := Check(s.tx); err != nil {
				t.Fatalf("healthy state: %v", err)
			}
			c.damage(t, s.tx)
			err := Check(s.tx)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check = %v, want a violation mentioning %q", err, c.want)
			}
		})
	}
}
