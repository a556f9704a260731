package namespace

import (
	"strings"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Xattr limits (Linux XATTR_NAME_MAX and XATTR_SIZE_MAX) and flags.
const (
	MaxXattrName  = 255
	MaxXattrValue = 64 << 10
	xattrCreate   = 1
	xattrReplace  = 2
)

// xattrClass is an xattr namespace, which decides who may touch it.
type xattrClass int

const (
	xattrUser xattrClass = iota
	xattrTrusted
	xattrSecurity
	xattrSystem
)

// classifyXattr validates an xattr name: 1..255 bytes (ERANGE otherwise,
// as Linux) with a known namespace prefix (ENOTSUP otherwise).
func classifyXattr(name string) (xattrClass, error) {
	if name == "" || len(name) > MaxXattrName {
		return 0, fail(pb.Errno_ERANGE, "xattr name length out of range")
	}
	if strings.IndexByte(name, 0) >= 0 {
		return 0, fail(pb.Errno_EINVAL, "xattr name contains NUL")
	}
	for _, p := range [...]struct {
		prefix string
		class  xattrClass
	}{{"user.", xattrUser}, {"trusted.", xattrTrusted}, {"security.", xattrSecurity}, {"system.", xattrSystem}} {
		if len(name) > len(p.prefix) && strings.HasPrefix(name, p.prefix) {
			return p.class, nil
		}
	}
	return 0, fail(pb.Errno_ENOTSUP, "unsupported xattr namespace")
}

// xattrPermission follows Linux: trusted.* is root's alone (invisible to
// others: ENODATA on read); security.* is writable by root only; system.*
// (ACLs) by the owner or root; user.* lives only on regular files and
// directories and needs the file's read or write permission.
func xattrPermission(c cred, n *inode, class xattrClass, write bool) error {
	deny := pb.Errno_ENODATA
	if write {
		deny = pb.Errno_EPERM
	}
	switch class {
	case xattrTrusted:
		if !c.root() {
			return fail(deny, "trusted xattrs are root's")
		}
	case xattrSecurity:
		if write && !c.root() {
			return fail(pb.Errno_EPERM, "security xattrs need root")
		}
	case xattrSystem:
		if write && !c.owns(n) {
			return fail(pb.Errno_EPERM, "only the owner may set system xattrs")
		}
	case xattrUser:
		return userXattrPermission(c, n, write, deny)
	}
	return nil
}

func userXattrPermission(c cred, n *inode, write bool, deny pb.Errno) error {
	if !isReg(n.mode) && !isDir(n.mode) {
		return fail(deny, "user xattrs only on files and directories")
	}
	if !write {
		return c.access(n, mayRead)
	}
	if isDir(n.mode) && n.mode&sISVTX != 0 && !c.owns(n) {
		return fail(pb.Errno_EPERM, "sticky directory")
	}
	return c.access(n, mayWrite)
}

func (a *applier) setXattr(op *pb.SetXattr) (*pb.Result, error) {
	class, err := classifyXattr(op.GetName())
	if err != nil {
		return nil, err
	}
	switch {
	case op.GetFlags()&^(xattrCreate|xattrReplace) != 0:
		return nil, fail(pb.Errno_EINVAL, "bad xattr flags")
	case len(op.GetValue()) > MaxXattrValue:
		return nil, fail(pb.Errno_E2BIG, "xattr value larger than 64 KiB")
	}
	n, err := a.inodeOf(op.GetIno(), op.GetPath(), true)
	if err != nil {
		return nil, err
	}
	if err := xattrPermission(a.c, &n, class, true); err != nil {
		return nil, err
	}
	_, exists, err := a.tx.Get(xattrKey(a.kb, n.ino, op.GetName()))
	switch {
	case err != nil:
		return nil, err
	case exists && op.GetFlags()&xattrCreate != 0:
		return nil, fail(pb.Errno_EEXIST, "attribute exists")
	case !exists && op.GetFlags()&xattrReplace != 0:
		return nil, fail(pb.Errno_ENODATA, "no such attribute")
	}
	if err := a.tx.Put(xattrKey(a.kb, n.ino, op.GetName()), op.GetValue()); err != nil {
		return nil, err
	}
	if !exists {
		n.xattrs++
	}
	n.ctime = a.now
	return attrResult(&n), a.putInode(&n)
}

func (a *applier) removeXattr(op *pb.RemoveXattr) (*pb.Result, error) {
	class, err := classifyXattr(op.GetName())
	if err != nil {
		return nil, err
	}
	n, err := a.inodeOf(op.GetIno(), op.GetPath(), true)
	if err != nil {
		return nil, err
	}
	if err := xattrPermission(a.c, &n, class, true); err != nil {
		return nil, err
	}
	_, exists, err := a.tx.Get(xattrKey(a.kb, n.ino, op.GetName()))
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, fail(pb.Errno_ENODATA, "no such attribute")
	}
	if err := a.tx.Delete(xattrKey(a.kb, n.ino, op.GetName())); err != nil {
		return nil, err
	}
	n.xattrs--
	n.ctime = a.now
	return attrResult(&n), a.putInode(&n)
}

// GetXattr returns the value of xattr name of ino.
func GetXattr(r Reader, c *pb.Creds, ino uint64, name string) ([]byte, error) {
	class, err := classifyXattr(name)
	if err != nil {
		return nil, withOp(err, "getxattr")
	}
	n, err := mustInode(r, nil, Ino(ino))
	if err != nil {
		return nil, withOp(err, "getxattr")
	}
	if err := xattrPermission(credOf(c), &n, class, false); err != nil {
		return nil, withOp(err, "getxattr")
	}
	v, ok, err := r.Get(xattrKey(nil, n.ino, name))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, withOp(fail(pb.Errno_ENODATA, "no such attribute"), "getxattr")
	}
	return append([]byte{}, v...), nil
}

// ListXattr returns the xattr names of ino in byte order; trusted.* names
// are listed for root only.
func ListXattr(r Reader, c *pb.Creds, ino uint64) ([]string, error) {
	n, err := mustInode(r, nil, Ino(ino))
	if err != nil {
		return nil, withOp(err, "listxattr")
	}
	names := []string{}
	if n.xattrs == 0 {
		return names, nil
	}
	root := credOf(c).root()
	p := key1(nil, pfxXattr, uint64(ino))
	err = r.Scan(p, prefixEnd(p), func(k, _ []byte) bool {
		name := string(k[9:])
		if root || !strings.HasPrefix(name, "trusted.") {
			names = append(names, name)
		}
		return true
	})
	return names, err
}
