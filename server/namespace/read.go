package namespace

import (
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// DefaultReadDirLimit applies when ReadDir is called with limit <= 0.
const DefaultReadDirLimit = 1024

// Lookup returns the inode that name in directory parent names. "." and
// ".." are accepted. Needs search permission on parent.
func Lookup(r Reader, c *pb.Creds, parent uint64, name string) (*pb.Attr, error) {
	if name != "." && name != ".." {
		if err := ValidateName(name); err != nil {
			return nil, withOp(err, "lookup")
		}
	}
	w := newWalker(r, c)
	dir, err := mustInode(r, w.kb, Ino(parent))
	if err != nil {
		return nil, withOp(err, "lookup")
	}
	n, err := w.step(dir, name)
	if err != nil {
		return nil, withOp(err, "lookup")
	}
	return n.attr(), nil
}

// GetAttr returns an inode's attributes (no permission needed, as stat(2)
// on an open file).
func GetAttr(r Reader, ino uint64) (*pb.Attr, error) {
	n, err := mustInode(r, nil, Ino(ino))
	if err != nil {
		return nil, withOp(err, "getattr")
	}
	return n.attr(), nil
}

// Resolve resolves an absolute path from /. Symlinks are followed in the
// middle always and at the end if follow; more than 40 is ELOOP.
func Resolve(r Reader, c *pb.Creds, path string, follow bool) (*pb.Attr, error) {
	if err := ValidatePath(path); err != nil {
		return nil, withOp(err, "resolve")
	}
	n, err := newWalker(r, c).walk(path, follow)
	if err != nil {
		return nil, withOp(err, "resolve")
	}
	return n.attr(), nil
}

// ReadDir lists directory ino in name (byte) order, starting after cursor,
// at most limit entries (DefaultReadDirLimit if <= 0). It returns the
// cursor to continue from and whether the listing is complete. "." and ".."
// are not listed. plus adds each entry's attributes. Needs read permission.
func ReadDir(r Reader, c *pb.Creds, ino uint64, cursor string, limit int, plus bool) ([]*pb.DirEntry, string, bool, error) {
	dir, err := mustInode(r, nil, Ino(ino))
	if err == nil && !isDir(dir.mode) {
		err = fail(pb.Errno_ENOTDIR, "not a directory")
	}
	if err == nil {
		err = credOf(c).access(&dir, mayRead)
	}
	if err != nil {
		return nil, "", false, withOp(err, "readdir")
	}
	if limit <= 0 {
		limit = DefaultReadDirLimit
	}
	ents, eof, err := scanDir(r, dir.ino, cursor, limit)
	if err != nil || len(ents) == 0 {
		return ents, cursor, eof, err
	}
	if plus {
		if err := addAttrs(r, ents); err != nil {
			return nil, "", false, err
		}
	}
	return ents, ents[len(ents)-1].Name, eof, nil
}

func scanDir(r Reader, dir Ino, cursor string, limit int) ([]*pb.DirEntry, bool, error) {
	start := dentryKey(nil, dir, cursor)
	if cursor != "" {
		start = append(start, 0) // strictly after the cursor
	}
	ents := make([]*pb.DirEntry, 0, min(limit, 256))
	eof, bad := true, false
	err := r.Scan(start, prefixEnd(key1(nil, pfxDentry, uint64(dir))), func(k, v []byte) bool {
		if len(ents) == limit {
			eof = false
			return false
		}
		d, ok := decodeDentry(v)
		bad = !ok
		ents = append(ents, &pb.DirEntry{Name: string(k[9:]), Ino: uint64(d.ino), Mode: d.typ})
		return ok
	})
	if err == nil && bad {
		err = corrupt("dentry")
	}
	return ents, eof, err
}

func addAttrs(r Reader, ents []*pb.DirEntry) error {
	kb := make([]byte, 0, 16)
	for _, e := range ents {
		n, err := mustInode(r, kb, Ino(e.Ino))
		if err != nil {
			return err
		}
		e.Attr = n.attr()
		e.Mode = n.mode
	}
	return nil
}

// ReadLink returns a symlink's target.
func ReadLink(r Reader, ino uint64) (string, error) {
	n, err := mustInode(r, nil, Ino(ino))
	if err == nil && !isLnk(n.mode) {
		err = fail(pb.Errno_EINVAL, "not a symbolic link")
	}
	if err != nil {
		return "", withOp(err, "readlink")
	}
	return readLinkTarget(r, nil, n.ino)
}
