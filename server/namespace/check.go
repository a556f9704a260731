package namespace

import (
	"errors"
	"fmt"
	"strings"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// maxViolations bounds the report of one Check.
const maxViolations = 20

// Check verifies the state's invariants and returns an error listing the
// violations, or nil. It reads everything: for tests, fsck and snapshots,
// never the hot path.
func Check(r Reader) error {
	c := &checker{
		inodes: map[Ino]inode{}, links: map[Ino]uint32{}, subdirs: map[Ino]uint32{},
		entries: map[Ino]uint64{}, dirParent: map[Ino][]Ino{}, xattrs: map[Ino]uint32{},
		symlinks: map[Ino]int{}, layouts: map[Ino][]*pb.Extent{}, chunks: map[string]uint64{},
		queue: map[string]bool{}, swept: map[string]bool{}, orphans: map[Ino]bool{}, sessions: map[ClientID]session{},
		expiry: map[expiryRow]bool{}, reap: map[ClientID]HandleID{}, handles: map[Ino]uint32{},
	}
	if err := r.Scan(nil, nil, c.record); err != nil {
		return err
	}
	c.verify()
	if len(c.bad) == 0 {
		return nil
	}
	return errors.New("namespace check: " + strings.Join(c.bad, "; "))
}

type checker struct {
	meta      *metaRecord
	inodes    map[Ino]inode
	dentries  []checkedDentry
	links     map[Ino]uint32 // dentries naming each inode
	subdirs   map[Ino]uint32
	entries   map[Ino]uint64
	dirParent map[Ino][]Ino // for directories: the dirs holding a dentry to them
	xattrs    map[Ino]uint32
	symlinks  map[Ino]int
	layouts   map[Ino][]*pb.Extent
	chunks    map[string]uint64 // refcount recorded
	queue     map[string]bool
	swept     map[string]bool
	orphans   map[Ino]bool
	sessions  map[ClientID]session
	expiry    map[expiryRow]bool
	reap      map[ClientID]HandleID // handles of ended sessions up to this ID
	handleIDs []handleRow
	handles   map[Ino]uint32
	results   []expiryRow // (seq as at, client)
	bad       []string
}

type checkedDentry struct {
	parent Ino
	name   string
	d      dentry
}

func (c *checker) fail(format string, args ...any) {
	if len(c.bad) < maxViolations {
		c.bad = append(c.bad, fmt.Sprintf(format, args...))
	}
}

// record files one key/value into the checker's tables.
func (c *checker) record(k, v []byte) bool {
	if len(k) == 0 {
		c.fail("empty key")
		return true
	}
	switch k[0] {
	case pfxMeta, pfxHome, pfxChunk, pfxQueue, pfxSwept:
		c.recordGlobal(k, v)
	case pfxInode, pfxDentry, pfxXattr, pfxSymlink, pfxLayout, pfxOrphan:
		c.recordInodeKey(k, v)
	case pfxClient, pfxExpiry, pfxHandle, pfxResult:
		c.recordSessionKey(k, v)
	default:
		c.fail("unknown key %q", k)
	}
	return true
}

func (c *checker) recordGlobal(k, v []byte) {
	switch k[0] {
	case pfxMeta:
		m, ok := decodeMeta(v)
		if !ok || len(k) != 1 {
			c.fail("bad meta record")
			return
		}
		c.meta = &m
	case pfxHome:
		if len(k) != 1 || len(v) > MaxSiteName {
			c.fail("bad home site record")
		}
	case pfxChunk:
		_, refs, ok := decodeChunk(string(k[1:]), v)
		if !ok || refs == 0 || len(k) == 1 {
			c.fail("bad chunk record %q", k[1:])
		}
		c.chunks[string(k[1:])] = refs
	case pfxQueue:
		if _, _, ok := decodeChunk(string(k[1:]), v); !ok || len(k) == 1 {
			c.fail("bad queued chunk %q", k[1:])
		}
		c.queue[string(k[1:])] = true
	case pfxSwept:
		if len(v) != 8 || len(k) == 1 {
			c.fail("bad swept chunk %q", k[1:])
		}
		c.swept[string(k[1:])] = true
	}
}

func (c *checker) recordInodeKey(k, v []byte) {
	if len(k) < 9 {
		c.fail("short key %q", k)
		return
	}
	ino := Ino(u64At(k, 1))
	exact := len(k) == 9
	switch k[0] {
	case pfxInode:
		n, ok := decodeInode(ino, v)
		if !ok || !exact {
			c.fail("bad inode record %d", ino)
			return
		}
		c.inodes[ino] = n
	case pfxDentry:
		c.recordDentry(ino, string(k[9:]), v)
	case pfxXattr:
		c.xattrs[ino]++
		if _, err := classifyXattr(string(k[9:])); err != nil || len(v) > MaxXattrValue {
			c.fail("bad xattr %q on %d", k[9:], ino)
		}
	case pfxSymlink:
		c.symlinks[ino] = len(v)
		if !exact || validateSymlinkTarget(string(v)) != nil {
			c.fail("bad symlink target of %d", ino)
		}
	case pfxLayout:
		ext, ok := decodeLayout(v)
		if !ok || !exact {
			c.fail("bad layout of %d", ino)
		}
		c.layouts[ino] = ext
	case pfxOrphan:
		c.orphans[ino] = true
	}
}

func (c *checker) recordDentry(parent Ino, name string, v []byte) {
	d, ok := decodeDentry(v)
	if !ok || ValidateName(name) != nil {
		c.fail("bad dentry %d/%q", parent, name)
		return
	}
	c.dentries = append(c.dentries, checkedDentry{parent, name, d})
	c.links[d.ino]++
	c.entries[parent]++
	if d.typ == sIFDIR {
		c.subdirs[parent]++
		c.dirParent[d.ino] = append(c.dirParent[d.ino], parent)
	}
}

func (c *checker) recordSessionKey(k, v []byte) {
	if len(k) < 9 {
		c.fail("short key %q", k)
		return
	}
	cl := ClientID(u64At(k, 1))
	switch k[0] {
	case pfxClient:
		s, ok := decodeSession(cl, v)
		if !ok || len(k) != 9 {
			c.fail("bad session %d", cl)
		}
		c.sessions[cl] = s
	case pfxExpiry:
		at, cl, ok := decodeExpiryKey(k)
		if at == reapAt {
			if !ok || len(v) != 8 {
				c.fail("bad reap row %q", k)
				return
			}
			c.reap[cl] = HandleID(u64At(v, 0))
			return
		}
		if !ok || len(v) != 0 {
			c.fail("bad expiry row %q", k)
		}
		c.expiry[expiryRow{at, cl}] = true
	case pfxHandle:
		h, ok := decodeHandle(cl, 0, v)
		if !ok || len(k) != 17 {
			c.fail("bad handle %q", k)
			return
		}
		h.id = HandleID(u64At(k, 9))
		c.handleIDs = append(c.handleIDs, h)
		c.handles[h.ino]++
	case pfxResult:
		if _, ok := decodeResult(v); !ok || len(k) != 17 {
			c.fail("bad result %q", k)
		}
		c.results = append(c.results, expiryRow{int64(u64At(k, 9)), cl})
	}
}

func (c *checker) verify() {
	if c.meta == nil {
		c.fail("no meta record")
		return
	}
	root, ok := c.inodes[rootIno]
	if !ok || !isDir(root.mode) || root.parent != rootIno || c.links[rootIno] != 0 {
		c.fail("root missing, not a directory, or linked")
	}
	c.verifyDentries()
	c.verifyInodes()
	c.verifyTree()
	c.verifyChunks()
	c.verifySessions()
}

func (c *checker) verifyDentries() {
	for _, e := range c.dentries {
		p, ok := c.inodes[e.parent]
		if !ok || !isDir(p.mode) {
			c.fail("dentry %d/%q in a missing or non-directory parent", e.parent, e.name)
		}
		n, ok := c.inodes[e.d.ino]
		if !ok {
			c.fail("dentry %d/%q points at missing inode %d", e.parent, e.name, e.d.ino)
		} else if n.mode&sIFMT != e.d.typ {
			c.fail("dentry %d/%q type %o differs from inode %d mode %o", e.parent, e.name, e.d.typ, n.ino, n.mode)
		}
	}
}
