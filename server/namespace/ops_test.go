package namespace

import (
	"strings"
	"testing"
)

// opsFixture is the tree every table row starts from. uid 1000 owns /pub/u
// and /pub/ud; / and /d are root's 0755; /pub is 0777; /tmp is sticky.
const opsFixture = `
mkdir /d
create /d/f
mkdir /d/sub
create /d/sub/x
mkdir /d/empty
symlink /d /ld
symlink /nowhere /dangle
mkdir /pub mode=0777
create /pub/u uid=1000
mkdir /pub/ud uid=1000
mkdir /tmp mode=0777
chmod 1777 /tmp
create /tmp/root
create /tmp/mine uid=1000
mkdir /ro mode=0555
mkdir /noexec mode=0666
create /noexec/f
`

// user is the non-root caller of the table rows.
const user = " uid=1000 gid=1000"

var opsTable = []struct{ line, want string }{
	// mkdir
	{"mkdir /d/new", "ok"},
	{"mkdir /d/new" + user, "EACCES"},
	{"mkdir /pub/new" + user, "ok"},
	{"mkdir /d/f", "EEXIST"},
	{"mkdir /d/f" + user, "EEXIST"},
	{"mkdir /d/f/x", "ENOTDIR"},
	{"mkdir /nope/x", "ENOENT"},
	{"mkdir /noexec/x" + user, "EACCES"},
	{"mkdir /ld/new", "ok"},
	{"mkdir /dangle/x", "ENOENT"},
	{"mkdir /", "EEXIST"},
	{"mkdir /ro/x" + user, "EACCES"},
	{"mkdir /ro/x", "ok"},
	// mknod / create
	{"create /d/f excl", "EEXIST"},
	{"create /d/f", "ok"},
	{"create /d/f open client=1", "ok handle=1"},
	{"create /d/f open client=1" + user, "EACCES"},
	{"create /pub/u trunc" + user, "ok"},
	{"create /d/f trunc" + user, "EACCES"},
	{"create /d/sub", "EISDIR"},
	{"create /d/g" + user, "EACCES"},
	{"create /d/g open", "EINVAL"},
	{"mknod /pub/p type=fifo" + user, "ok"},
	{"mknod /pub/c type=chr" + user, "EPERM"},
	{"mknod /pub/c type=blk", "ok"},
	{"mknod /pub/d type=dir", "EPERM"},
	{"mknod /pub/l type=symlink", "EINVAL"},
	// unlink
	{"unlink /d/f", "ok"},
	{"unlink /d/f" + user, "EACCES"},
	{"unlink /d/sub", "EISDIR"},
	{"unlink /d/nope", "ENOENT"},
	{"unlink /ld", "ok"},
	{"unlink /tmp/root" + user, "EPERM"},
	{"unlink /tmp/mine" + user, "ok"},
	{"unlink /", "EBUSY"},
	{"unlink /noexec/f", "ok"},
	{"unlink /noexec/f" + user, "EACCES"},
	// rmdir
	{"rmdir /d/empty", "ok"},
	{"rmdir /d/empty" + user, "EACCES"},
	{"rmdir /d/sub", "ENOTEMPTY"},
	{"rmdir /d/f", "ENOTDIR"},
	{"rmdir /pub/ud" + user, "ok"},
	{"rmdir /ld", "ENOTDIR"},
	{"rmdir /", "EBUSY"},
	// rename
	{"rename /d/f /d/g", "ok"},
	{"rename /d/f /d/g" + user, "EACCES"},
	{"rename /pub/u /pub/v" + user, "ok"},
	{"rename /pub/u /d/u" + user, "EACCES"},
	{"rename /d /d/sub/d", "EINVAL"},
	{"rename /d/sub /d/empty", "ok"},
	{"rename /d/empty /d/sub", "ENOTEMPTY"},
	{"rename /d/f /d/sub", "EISDIR"},
	{"rename /d/sub /d/f", "ENOTDIR"},
	{"rename /d/f /d/f", "ok"},
	{"rename /d/f /d/sub/x noreplace", "EEXIST"},
	{"rename /d/f /d/g exchange", "ENOENT"},
	{"rename /d/f /d/sub exchange", "ok"},
	{"rename /d/f /d/g flags=3", "EINVAL"},
	{"rename /d/sub/x /d", "ENOTEMPTY"},
	{"rename /tmp/root /tmp/r2" + user, "EPERM"},
	{"rename /tmp/mine /tmp/root" + user, "EPERM"},
	{"rename /pub/ud /tmp/ud" + user, "ok"},
	{"rename /d/sub /pub/sub" + user, "EACCES"},
	// link, symlink
	{"link /d/f /d/g", "ok"},
	{"link /d/f /pub/g" + user, "ok"},
	{"link /d/f /d/g" + user, "EACCES"},
	{"link /d/sub /d/g", "EPERM"},
	{"link /d/f /d/sub/x", "EEXIST"},
	{"link /nope /d/g", "ENOENT"},
	{"link /dangle /d/g", "ok"},
	{"symlink /x /d/s", "ok"},
	{"symlink /x /d/s" + user, "EACCES"},
	{"symlink /x /d/f", "EEXIST"},
	// setattr
	{"chmod 0700 /pub/u" + user, "ok"},
	{"chmod 0700 /d/f" + user, "EPERM"},
	{"chmod 0700 /d/f", "ok"},
	{"chown 1000 /d/f", "ok"},
	{"chown 2000 /pub/u" + user, "EPERM"},
	{"chown :1000 /pub/u" + user, "ok"},
	{"chown :7 /pub/u" + user, "EPERM"},
	{"chown :7 /pub/u groups=7" + user, "ok"},
	{"chown :7 /d/f groups=7" + user, "EPERM"},
	{"truncate /d/f 10", "ok"},
	{"truncate /d/f 10" + user, "EACCES"},
	{"truncate /d 10", "EISDIR"},
	{"utimes /d/f mtime=1" + user, "EPERM"},
	{"utimes /d/f now" + user, "EACCES"},
	{"utimes /pub/u mtime=1" + user, "ok"},
	{"utimes /nope now", "ENOENT"},
	// xattr
	{"setxattr /d/f user.a v", "ok"},
	{"setxattr /d/f user.a v" + user, "EACCES"},
	{"setxattr /pub/u user.a v" + user, "ok"},
	{"setxattr /d/f user.a v replace", "ENODATA"},
	{"setxattr /d/f trusted.a v" + user, "EPERM"},
	{"setxattr /d/f bad v", "ENOTSUP"},
	{"rmxattr /d/f user.a", "ENODATA"},
	{"getxattr /d/f user.a", "ENODATA"},
	// open, release
	{"open /d/f client=1", "ok handle=1"},
	{"open /d/f client=1 flags=wronly" + user, "EACCES"},
	{"open /d/f client=1" + user, "ok handle=1"},
	{"open /d client=1 flags=rdwr", "EISDIR"},
	{"open /noexec client=1" + user, "ok handle=1"},
	{"open /d/f", "EINVAL"},
	{"release 9 client=1", "EBADF"},
	// remove-all, mkdir-p
	{"rm-r /d", "ok"},
	{"rm-r /d" + user, "EACCES"},
	{"rm-r /pub/ud" + user, "ok"},
	{"rm-r /d/nope", "ENOENT"},
	{"rm-r /", "EBUSY"},
	{"mkdir-p /d/sub/a/b", "ok"},
	{"mkdir-p /d/sub/a/b" + user, "EACCES"},
	{"mkdir-p /pub/a/b" + user, "ok"},
	{"mkdir-p /d/f/a", "ENOTDIR"},
	{"mkdir-p /d/f", "EEXIST"},
	{"mkdir-p /d/sub", "ok"},
	// layout, chunks, home
	{"layout /d/f size=10 0:10:c new=c:10", "ok"},
	{"layout /d/f size=10 0:10:c new=c:10" + user, "EACCES"},
	{"layout /pub/u size=10 0:10:c new=c:10" + user, "ok"},
	{"layout /d size=10", "EISDIR"},
	{"drop-chunks c" + user, "EPERM"},
	{"sethome east", "ok"},
	{"sethome east" + user, "EPERM"},
	{"keepalive timeout=-1s client=1", "EINVAL"},
	{"noop", "ok"},
}

// TestOps runs each row on a fresh fixture and checks its exact outcome
// (first word of the result).
func TestOps(t *testing.T) {
	for _, row := range opsTable {
		t.Run(row.line, func(t *testing.T) {
			s := newShell(t)
			s.run(opsFixture)
			got := s.exec(row.line)
			if got != row.want && strings.Fields(got)[0] != row.want {
				t.Fatalf("%s: got %q, want %q", row.line, got, row.want)
			}
		})
	}
}
