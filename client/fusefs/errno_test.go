package fusefs_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/geomds/geomds/client/fusefs"
	"golang.org/x/sys/unix"
)

// errnoCase is one syscall and the errno it must fail with.
type errnoCase struct {
	name string
	op   func(m string) error
	want syscall.Errno
}

// errnoCases cover each syscall family; m is a directory holding the
// fixture made by makeFixture.
var errnoCases = []errnoCase{
	{"open missing", func(m string) error { _, err := syscall.Open(m+"/missing", syscall.O_RDONLY, 0); return err }, syscall.ENOENT},
	{"open dir for writing", func(m string) error { _, err := syscall.Open(m+"/empty", syscall.O_WRONLY, 0); return err }, syscall.EISDIR},
	{"open through a file", func(m string) error { _, err := syscall.Open(m+"/file/x", syscall.O_RDONLY, 0); return err }, syscall.ENOTDIR},
	{"open O_EXCL existing", func(m string) error {
		_, err := syscall.Open(m+"/file", syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY, 0o644)
		return err
	}, syscall.EEXIST},
	{"open symlink loop", func(m string) error { _, err := syscall.Open(m+"/loop", syscall.O_RDONLY, 0); return err }, syscall.ELOOP},
	{"create name too long", func(m string) error {
		_, err := syscall.Open(m+"/"+strings.Repeat("n", 256), syscall.O_CREAT|syscall.O_WRONLY, 0o644)
		return err
	}, syscall.ENAMETOOLONG},
	{"mkdir existing", func(m string) error { return syscall.Mkdir(m+"/empty", 0o755) }, syscall.EEXIST},
	{"mkdir in missing", func(m string) error { return syscall.Mkdir(m+"/missing/d", 0o755) }, syscall.ENOENT},
	{"mkdir under a file", func(m string) error { return syscall.Mkdir(m+"/file/d", 0o755) }, syscall.ENOTDIR},
	{"rmdir non-empty", func(m string) error { return syscall.Rmdir(m + "/full") }, syscall.ENOTEMPTY},
	{"rmdir a file", func(m string) error { return syscall.Rmdir(m + "/file") }, syscall.ENOTDIR},
	{"rmdir missing", func(m string) error { return syscall.Rmdir(m + "/missing") }, syscall.ENOENT},
	{"unlink a dir", func(m string) error { return syscall.Unlink(m + "/empty") }, syscall.EISDIR},
	{"unlink missing", func(m string) error { return syscall.Unlink(m + "/missing") }, syscall.ENOENT},
	{"rename into own subtree", func(m string) error { return syscall.Rename(m+"/full", m+"/full/sub") }, syscall.EINVAL},
	{"rename dir over non-empty dir", func(m string) error { return syscall.Rename(m+"/empty", m+"/full") }, syscall.ENOTEMPTY},
	{"rename file over dir", func(m string) error { return syscall.Rename(m+"/file", m+"/empty") }, syscall.EISDIR},
	{"rename dir over file", func(m string) error { return syscall.Rename(m+"/empty", m+"/file") }, syscall.ENOTDIR},
	{"rename missing", func(m string) error { return syscall.Rename(m+"/missing", m+"/x") }, syscall.ENOENT},
	{"rename noreplace existing", func(m string) error { return renameat2(m+"/file", m+"/link", 1) }, syscall.EEXIST},
	{"rename exchange missing", func(m string) error { return renameat2(m+"/file", m+"/missing", 2) }, syscall.ENOENT},
	{"rename across mounts", func(m string) error { return syscall.Rename(m+"/file", os.TempDir()+"/geomds-xdev") }, syscall.EXDEV},
	{"link existing name", func(m string) error { return syscall.Link(m+"/file", m+"/link") }, syscall.EEXIST},
	{"link a dir", func(m string) error { return syscall.Link(m+"/empty", m+"/dirlink") }, syscall.EPERM},
	{"link missing", func(m string) error { return syscall.Link(m+"/missing", m+"/x") }, syscall.ENOENT},
	{"symlink existing", func(m string) error { return syscall.Symlink("t", m+"/file") }, syscall.EEXIST},
	{"readlink a file", func(m string) error { _, err := syscall.Readlink(m+"/file", make([]byte, 64)); return err }, syscall.EINVAL},
	{"truncate a dir", func(m string) error { return syscall.Truncate(m+"/empty", 0) }, syscall.EISDIR},
	{"getxattr missing", func(m string) error { _, err := syscall.Getxattr(m+"/file", "user.none", make([]byte, 8)); return err }, syscall.ENODATA},
	{"getxattr short buffer", func(m string) error { _, err := syscall.Getxattr(m+"/file", "user.x", make([]byte, 2)); return err }, syscall.ERANGE},
	{"setxattr create existing", func(m string) error { return syscall.Setxattr(m+"/file", "user.x", []byte("v"), 1) }, syscall.EEXIST},
	{"setxattr replace missing", func(m string) error { return syscall.Setxattr(m+"/file", "user.none", []byte("v"), 2) }, syscall.ENODATA},
	{"removexattr missing", func(m string) error { return syscall.Removexattr(m+"/file", "user.none") }, syscall.ENODATA},
}

func renameat2(from, to string, flags uint) error {
	return unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, flags)
}

// makeFixture makes, under m: file (with xattr user.x = "value"), link (a
// hard link to it), empty/, full/sub/, loop (a symlink to itself).
func makeFixture(t *testing.T, m string) {
	t.Helper()
	steps := []error{
		os.WriteFile(m+"/file", []byte("data"), 0o644),
		syscall.Setxattr(m+"/file", "user.x", []byte("value"), 0),
		os.Link(m+"/file", m+"/link"),
		os.Mkdir(m+"/empty", 0o755),
		os.MkdirAll(m+"/full/sub", 0o755),
		os.Symlink("loop", m+"/loop"),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
}

// TestErrnos checks the errno of each syscall family's failures through
// the mount; each case must also leave the fixture unchanged.
func TestErrnos(t *testing.T) {
	cl := startCluster(t)
	c := newClient(t, cl, "east")
	m := mount(t, c, fusefs.Options{})
	guard(t, m, time.Minute)
	makeFixture(t, m)
	before := snapshot(t, m)
	for _, tc := range errnoCases {
		if err := tc.op(m); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if after := snapshot(t, m); after != before {
		t.Errorf("failed calls changed the tree:\nbefore %s\nafter  %s", before, after)
	}
	t.Run("credentials", func(t *testing.T) { testCallerCreds(t, m) })
}

// snapshot renders the tree under m: names, types, sizes and link counts.
func snapshot(t *testing.T, m string) string {
	var b strings.Builder
	err := filepath.Walk(m, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		b.WriteString(strings.TrimPrefix(p, m) + " " + fi.Mode().String() + " " +
			strconv.FormatInt(fi.Size(), 10) + " " + strconv.FormatUint(st.Nlink, 10) + "; ")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// testCallerCreds checks that each request acts as its caller: a thread
// with fsuid/fsgid 1000 is refused where only root may write, and owns
// what it creates where it may. Paths are relative to a descriptor of the
// mount, since the test's temporary directories above it are root's own.
func testCallerCreds(t *testing.T, m string) {
	if err := errors.Join(os.Mkdir(m+"/open", 0o755), os.Chmod(m+"/open", 0o777)); err != nil {
		t.Fatal(err)
	}
	dirfd, err := syscall.Open(m, syscall.O_DIRECTORY|syscall.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(dirfd)
	errs := make(chan error, 4)
	go func() {
		// The thread's credentials change, so it is never handed back:
		// the goroutine ends locked and the runtime discards the thread.
		runtime.LockOSThread()
		setfs(1000)
		errs <- unix.Mkdirat(dirfd, "empty/x", 0o755) // root's 0755 directory
		errs <- unix.Unlinkat(dirfd, "file", 0)
		errs <- unix.Mkdirat(dirfd, "open/mine", 0o755)
		_, err := unix.Openat(dirfd, "file", unix.O_WRONLY, 0)
		errs <- err
	}()
	for i, want := range []error{syscall.EACCES, syscall.EACCES, nil, syscall.EACCES} {
		if err := <-errs; !errors.Is(err, want) && err != want {
			t.Errorf("call %d as uid 1000: %v, want %v", i, err, want)
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(m+"/open/mine", &st); err != nil || st.Uid != 1000 || st.Gid != 1000 {
		t.Errorf("created as uid 1000: owner %d:%d, %v", st.Uid, st.Gid, err)
	}
}

// setfs sets the calling thread's filesystem uid and gid, which FUSE
// reports as the caller.
func setfs(id int) {
	unix.Setfsgid(id)
	unix.Setfsuid(id)
}
