package namespace

import (
	"strings"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// walker resolves paths. It checks search permission on every directory it
// passes through and counts the symlinks it follows.
type walker struct {
	r     Reader
	c     cred
	kb    []byte
	links int
	buf   [64]byte // backs kb for the read entry points
}

// newWalker returns a walker with its own key buffer.
func newWalker(r Reader, c *pb.Creds) *walker {
	w := &walker{r: r, c: credOf(c)}
	w.kb = w.buf[:0]
	return w
}

// walk resolves path (absolute, already validated) from /.
func (w *walker) walk(path string, follow bool) (inode, error) {
	root, err := mustInode(w.r, w.kb, rootIno)
	if err != nil {
		return inode{}, err
	}
	if strings.HasSuffix(path, "/") {
		n, err := w.walkFrom(root, path, true)
		if err == nil && !isDir(n.mode) && path != "/" {
			err = fail(pb.Errno_ENOTDIR, "trailing slash on a non-directory")
		}
		return n, err
	}
	return w.walkFrom(root, path, follow)
}

// walkFrom resolves a relative or absolute path starting at directory cur.
// Symlinks are followed in the middle always, at the end if follow.
func (w *walker) walkFrom(cur inode, rest string, follow bool) (inode, error) {
	for {
		comp, tail := nextComponent(rest)
		if comp == "" {
			return cur, nil
		}
		last := isLast(tail)
		next, err := w.step(cur, comp)
		if err != nil {
			return inode{}, err
		}
		if isLnk(next.mode) && (!last || follow) {
			if cur, tail, err = w.expand(cur, next, tail); err != nil {
				return inode{}, err
			}
			rest = tail
			continue
		}
		cur, rest = next, tail
	}
}

// step moves from directory cur to its component comp.
func (w *walker) step(cur inode, comp string) (inode, error) {
	if !isDir(cur.mode) {
		return inode{}, fail(pb.Errno_ENOTDIR, "not a directory")
	}
	if err := w.c.access(&cur, mayExec); err != nil {
		return inode{}, err
	}
	switch comp {
	case ".":
		return cur, nil
	case "..":
		return mustInode(w.r, w.kb, cur.parent)
	}
	if len(comp) > MaxNameLen {
		return inode{}, fail(pb.Errno_ENAMETOOLONG, "name longer than 255 bytes")
	}
	d, ok, err := getDentry(w.r, w.kb, cur.ino, comp)
	if err != nil {
		return inode{}, err
	}
	if !ok {
		return inode{}, fail(pb.Errno_ENOENT, "no such file or directory")
	}
	return mustInode(w.r, w.kb, d.ino)
}

// expand replaces symlink link (found in dir) by its target: it returns the
// directory to continue from and the remaining path.
func (w *walker) expand(dir, link inode, tail string) (inode, string, error) {
	w.links++
	if w.links > maxSymlinks {
		return inode{}, "", fail(pb.Errno_ELOOP, "too many levels of symbolic links")
	}
	target, err := readLinkTarget(w.r, w.kb, link.ino)
	if err != nil {
		return inode{}, "", err
	}
	if strings.HasPrefix(target, "/") {
		if dir, err = mustInode(w.r, w.kb, rootIno); err != nil {
			return inode{}, "", err
		}
	}
	return dir, target + "/" + tail, nil
}

// followLink resolves symlink link, found in dir, to what it points at.
func (w *walker) followLink(dir, link inode) (inode, error) {
	start, target, err := w.expand(dir, link, "")
	if err != nil {
		return inode{}, err
	}
	return w.walkFrom(start, target, true)
}

// walkParent resolves all but the final component of path, which must name
// a directory, and returns it with the final name (validated). The final
// name is "" only for "/".
func (w *walker) walkParent(path string) (inode, string, error) {
	if err := ValidatePath(path); err != nil {
		return inode{}, "", err
	}
	dirPath, name := splitLast(path)
	dir, err := w.walk(dirPath, true)
	if err != nil {
		return inode{}, "", err
	}
	if !isDir(dir.mode) {
		return inode{}, "", fail(pb.Errno_ENOTDIR, "not a directory")
	}
	if name == "" {
		return dir, "", nil
	}
	return dir, name, ValidateName(name)
}

func readLinkTarget(r Reader, kb []byte, ino Ino) (string, error) {
	v, ok, err := r.Get(symlinkKey(kb, ino))
	if err != nil {
		return "", err
	}
	if !ok {
		return "", corrupt("symlink without target")
	}
	return string(v), nil
}
