package namespace

import pb "github.com/geomds/geomds/proto/geomdspb"

// cred is the caller's identity for permission checks. Nil pb.Creds means
// root: the rpc layer always stamps real credentials on user requests.
type cred struct {
	uid, gid uint32
	groups   []uint32
}

func credOf(c *pb.Creds) cred {
	if c == nil {
		return cred{}
	}
	return cred{uid: c.Uid, gid: c.Gid, groups: c.Groups}
}

func (c cred) root() bool { return c.uid == 0 }

func (c cred) inGroup(g uint32) bool {
	if c.gid == g {
		return true
	}
	for _, x := range c.groups {
		if x == g {
			return true
		}
	}
	return false
}

// may reports whether c holds every access bit of mask on n, by the classic
// owner/group/other rule (owner bits alone decide for the owner). Root passes
// everything except executing a non-directory that has no x bit at all.
func (c cred) may(n *inode, mask uint32) bool {
	if c.root() {
		return mask&mayExec == 0 || isDir(n.mode) || n.mode&0o111 != 0
	}
	var bits uint32
	switch {
	case c.uid == n.uid:
		bits = n.mode >> 6
	case c.inGroup(n.gid):
		bits = n.mode >> 3
	default:
		bits = n.mode
	}
	return bits&mask == mask
}

func (c cred) access(n *inode, mask uint32) error {
	if !c.may(n, mask) {
		return fail(pb.Errno_EACCES, "permission denied")
	}
	return nil
}

// owns reports whether c may act as the owner of n (chmod, utimes).
func (c cred) owns(n *inode) bool { return c.root() || c.uid == n.uid }

// mayDelete applies the rules for removing victim from dir: write and search
// on dir, and in a sticky directory only the owner of the file or of the
// directory (or root) may remove it.
func (c cred) mayDelete(dir, victim *inode) error {
	if err := c.access(dir, mayWrite|mayExec); err != nil {
		return err
	}
	if dir.mode&sISVTX != 0 && !c.root() && c.uid != dir.uid && c.uid != victim.uid {
		return fail(pb.Errno_EPERM, "sticky directory")
	}
	return nil
}
