package namespace

import "testing"

func TestSmoke(t *testing.T) {
	s := newShell(t)
	got := s.run(`
mkdir /a
mkdir /a
mkdir /a/b
create /a/f
rename /a /a/b/c
ls /a
stat /a/b
symlink /a/b /l
stat /l/
unlink /a/f
rmdir /a
rm-r /a
ls /
statfs
`)
	want := `ok
EEXIST
ok
ok
EINVAL
[b/ f]
dir 0755 nlink=2 uid=0 gid=0 size=0
ok
dir 0755 nlink=2 uid=0 gid=0 size=0
ok
ENOTEMPTY
ok
[l@]
inodes=2 files=1 dirs=1 bytes=0`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
