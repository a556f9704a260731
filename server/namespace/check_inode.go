package namespace

import "slices"

func (c *checker) verifyInodes() {
	var want metaRecord
	inos := make([]Ino, 0, len(c.inodes))
	for ino := range c.inodes {
		inos = append(inos, ino)
	}
	slices.Sort(inos)
	for _, ino := range inos {
		n := c.inodes[ino]
		want.count(n.mode, n.size, 1)
		if ino >= c.meta.nextIno || ino > maxLocalIno {
			c.fail("inode %d beyond the counter %d", ino, c.meta.nextIno)
		}
		if !validType(n.mode & sIFMT) {
			c.fail("inode %d has bad mode %o", ino, n.mode)
		}
		c.verifyLinks(&n)
		c.verifyAttached(&n)
	}
	m := c.meta
	if m.inodes != want.inodes || m.files != want.files || m.dirs != want.dirs || m.bytes != want.bytes {
		c.fail("counters %d/%d/%d/%d, state has %d/%d/%d/%d", m.inodes, m.files, m.dirs, m.bytes,
			want.inodes, want.files, want.dirs, want.bytes)
	}
	for ino := range c.orphans {
		if _, ok := c.inodes[ino]; !ok {
			c.fail("orphan mark on missing inode %d", ino)
		}
	}
	c.verifyOwned(inos)
}

// verifyLinks checks nlink against the dentries and the orphan rules.
func (c *checker) verifyLinks(n *inode) {
	switch {
	case n.nlink == 0:
		if !c.orphans[n.ino] || n.open == 0 || c.links[n.ino] != 0 {
			c.fail("inode %d has no links but is not an open orphan", n.ino)
		}
	case c.orphans[n.ino]:
		c.fail("linked inode %d marked orphan", n.ino)
	case isDir(n.mode):
		ps := c.dirParent[n.ino]
		if n.ino != rootIno && (len(ps) != 1 || ps[0] != n.parent) {
			c.fail("directory %d has dentries in %v, parent field %d", n.ino, ps, n.parent)
		}
		if n.nlink != 2+c.subdirs[n.ino] {
			c.fail("directory %d nlink %d, want %d", n.ino, n.nlink, 2+c.subdirs[n.ino])
		}
	case n.nlink != c.links[n.ino]:
		c.fail("inode %d nlink %d, dentries %d", n.ino, n.nlink, c.links[n.ino])
	}
	if isDir(n.mode) && n.size != c.entries[n.ino] {
		c.fail("directory %d size %d, entries %d", n.ino, n.size, c.entries[n.ino])
	}
	if !isDir(n.mode) && n.parent != 0 {
		c.fail("non-directory %d has a parent field", n.ino)
	}
	if n.open != c.handles[n.ino] {
		c.fail("inode %d open count %d, handles %d", n.ino, n.open, c.handles[n.ino])
	}
}

// verifyAttached checks the records hanging off an inode.
func (c *checker) verifyAttached(n *inode) {
	if n.xattrs != c.xattrs[n.ino] {
		c.fail("inode %d xattr count %d, records %d", n.ino, n.xattrs, c.xattrs[n.ino])
	}
	l, hasLink := c.symlinks[n.ino]
	if hasLink != isLnk(n.mode) || hasLink && uint64(l) != n.size {
		c.fail("inode %d symlink target mismatch", n.ino)
	}
	ext, hasLayout := c.layouts[n.ino]
	if hasLayout != (n.flags&flagLayout != 0) || hasLayout && (!isReg(n.mode) || len(ext) == 0) {
		c.fail("inode %d layout flag mismatch", n.ino)
	}
	var end uint64
	for _, e := range ext {
		if e.Length == 0 || e.Offset < end || e.Offset+e.Length > n.size ||
			(e.Chunk == "") != (uint64(len(e.Inline)) == e.Length) {
			c.fail("inode %d has a bad extent at %d", n.ino, e.Offset)
		}
		end = e.Offset + e.Length
	}
}

// verifyOwned checks that per-inode records belong to existing inodes.
func (c *checker) verifyOwned(inos []Ino) {
	for _, m := range []map[Ino]uint32{c.xattrs, c.links, c.subdirs} {
		for ino := range m {
			if _, ok := c.inodes[ino]; !ok {
				c.fail("records for missing inode %d", ino)
			}
		}
	}
	for ino := range c.layouts {
		if _, ok := c.inodes[ino]; !ok {
			c.fail("layout of missing inode %d", ino)
		}
	}
}

// verifyTree checks that every linked directory reaches / by parent links.
func (c *checker) verifyTree() {
	for ino, n := range c.inodes {
		if !isDir(n.mode) || n.nlink == 0 {
			continue
		}
		cur := n
		for steps := 0; cur.ino != rootIno; steps++ {
			p, ok := c.inodes[cur.parent]
			if !ok || steps > len(c.inodes) {
				c.fail("directory %d does not reach /", ino)
				break
			}
			cur = p
		}
	}
}

func (c *checker) verifyChunks() {
	refs := map[string]uint64{}
	for _, ext := range c.layouts {
		for _, id := range chunkIDs(ext) {
			refs[id]++
		}
	}
	for id, n := range refs {
		if c.chunks[id] != n {
			c.fail("chunk %q refcount %d, layouts %d", id, c.chunks[id], n)
		}
	}
	for id := range c.chunks {
		if refs[id] == 0 {
			c.fail("chunk %q recorded but unreferenced", id)
		}
		if c.queue[id] {
			c.fail("chunk %q both live and queued", id)
		}
		if c.swept[id] {
			c.fail("chunk %q both live and swept", id)
		}
	}
}

func (c *checker) verifySessions() {
	for cl, s := range c.sessions {
		if !c.expiry[expiryRow{s.expiryKey, cl}] {
			c.fail("session %d lacks its expiry row", cl)
		}
	}
	for row := range c.expiry {
		if row.at < c.meta.nextExpiry {
			c.fail("expiry row at %d before next expiry %d", row.at, c.meta.nextExpiry)
		}
	}
	if len(c.reap) > 0 && c.meta.nextExpiry != reapAt {
		c.fail("reap rows but next expiry %d", c.meta.nextExpiry)
	}
	for cl, last := range c.reap {
		if last >= c.meta.nextHandle {
			c.fail("reap row of client %d beyond the handle counter", cl)
		}
	}
	for _, h := range c.handleIDs {
		last, reaping := c.reap[h.client]
		if _, ok := c.sessions[h.client]; !ok && !(reaping && h.id <= last) {
			c.fail("handle %d of client %d without session", h.id, h.client)
		}
		if _, ok := c.inodes[h.ino]; !ok || h.id >= c.meta.nextHandle {
			c.fail("handle %d on missing inode %d or beyond counter", h.id, h.ino)
		}
	}
	for _, r := range c.results {
		s, ok := c.sessions[r.client]
		if !ok || uint64(r.at) <= s.acked {
			c.fail("result %d of client %d without session or already acked", r.at, r.client)
		}
	}
}
