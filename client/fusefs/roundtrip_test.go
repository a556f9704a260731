package fusefs_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/geomds/geomds/client"
	"github.com/geomds/geomds/client/fusefs"
	"golang.org/x/sys/unix"
)

// rpcCounter counts a client's RPC attempts by method (Config.Explain).
type rpcCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (rc *rpcCounter) explain(tr client.Trace) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.n[tr.Method]++
}

// take returns the counts since the last take.
func (rc *rpcCounter) take() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := rc.n
	rc.n = map[string]int{}
	return n
}

// countingClient is newClient with its RPCs counted.
func countingClient(t *testing.T, cl interface{ Endpoints() []string }, site string) (*client.Client, *rpcCounter) {
	t.Helper()
	rc := &rpcCounter{n: map[string]int{}}
	return newClientExplained(t, cl, site, rc.explain), rc
}

// TestRoundTrips checks which kernel requests the mount answers without
// the cluster, and that the answers stay right: east counts its client's
// RPCs, west is a second mount of the same cluster.
func TestRoundTrips(t *testing.T) {
	cl := startCluster(t)
	c, rc := countingClient(t, cl, "east")
	east := mount(t, c, fusefs.Options{})
	west := mount(t, newClient(t, cl, "west"), fusefs.Options{})
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"ExtractLikeTar", func(t *testing.T) { testExtractLikeTar(t, east, west, rc) }},
		{"CapabilityKept", func(t *testing.T) { testCapabilityKept(t, east, west) }},
		{"ReleaseFreesUnlinked", func(t *testing.T) { testReleaseFreesUnlinked(t, east, c) }},
		{"SetuidCleared", func(t *testing.T) { testSetuidCleared(t, east, west) }},
		{"AccessFromMemo", func(t *testing.T) { testAccessFromMemo(t, east, rc) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			guard(t, east, time.Minute)
			guard(t, west, time.Minute)
			tc.fn(t)
		})
	}
}

// testExtractLikeTar makes a file as tar -x does (exclusive create,
// writes, then futimens, fchown and fchmod on the open descriptor, then
// close) and checks the round trips: no security.capability read and no
// GETATTR reaches the cluster, and the commands are the create, one
// layout commit, the three attribute changes and the release. The file
// keeps the mtime tar gave it, at both mounts.
func testExtractLikeTar(t *testing.T, east, west string, rc *rpcCounter) {
	p := filepath.Join(east, "extracted")
	mtime := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	rc.take()
	fd, err := syscall.Open(p, syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []string{"first ", "second ", "third"} {
		if _, err := syscall.Write(fd, []byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(mtime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	steps := []error{
		unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, 0),
		syscall.Fchown(fd, 1234, 1234),
		syscall.Fchmod(fd, 0o640),
		syscall.Close(fd),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	if _, err := syscall.Getxattr(p, "security.capability", nil); err != syscall.ENODATA {
		t.Errorf("getxattr security.capability of a new file: %v, want ENODATA", err)
	}
	// The release is in the background; it is the last command to come.
	var got map[string]int
	deadline := time.Now().Add(5 * time.Second)
	for counts := map[string]int{}; ; {
		for k, v := range rc.take() {
			counts[k] += v
		}
		if got = counts; counts["Mutate"] >= 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	for k, v := range rc.take() {
		got[k] += v
	}
	if got["GetXattr"] != 0 || got["GetAttr"] != 0 || got["Mutate"] != 5 {
		t.Errorf("RPCs %v: want no GetXattr, no GetAttr, and 5 Mutate "+
			"(create, layout with mtime, owner, mode, release)", got)
	}
	for _, m := range []string{east, west} {
		fi, err := os.Stat(filepath.Join(m, "extracted"))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if !fi.ModTime().Equal(mtime) || fi.Mode().Perm() != 0o640 || st.Uid != 1234 || fi.Size() != 18 {
			t.Errorf("at %s: mtime %v mode %v owner %d size %d; want %v, 0640, 1234, 18",
				m, fi.ModTime(), fi.Mode(), st.Uid, fi.Size(), mtime)
		}
	}
}

// capV2 is a valid security.capability value (VFS_CAP_REVISION_2 with
// the effective flag, permitting CAP_NET_BIND_SERVICE): the kernel checks
// the format on setxattr.
func capV2() []byte {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b[0:], 0x02000001)
	binary.LittleEndian.PutUint32(b[4:], 1<<10)
	return b
}

// testCapabilityKept: a file that has security.capability reports it,
// whichever mount set it (the other mount once its cached knowledge has
// expired), and a write still removes it, as the kernel does for any file.
func testCapabilityKept(t *testing.T, east, west string) {
	for _, setAt := range []string{east, west} {
		name := "cap-" + filepath.Base(setAt)
		if err := os.WriteFile(filepath.Join(east, name), []byte("x"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Setxattr(filepath.Join(setAt, name), "security.capability", capV2(), 0); err != nil {
			t.Fatal(err)
		}
		if setAt != east {
			time.Sleep(1100 * time.Millisecond) // east's knowledge lasts AttrTimeout (1 s)
		}
		p := filepath.Join(east, name)
		if n, err := syscall.Getxattr(p, "security.capability", make([]byte, 64)); err != nil || n != 20 {
			t.Fatalf("set at %s: getxattr at east: %d bytes, %v", setAt, n, err)
		}
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Write([]byte("y"))
		if err = errors.Join(err, f.Close()); err != nil {
			t.Fatal(err)
		}
		if _, err := syscall.Getxattr(p, "security.capability", nil); err != syscall.ENODATA {
			t.Errorf("set at %s: getxattr after a write: %v, want ENODATA (the write removes it)", setAt, err)
		}
	}
}

// testReleaseFreesUnlinked: files closed and unlinked at once (their
// releases possibly still queued) leave no orphan inode behind.
func testReleaseFreesUnlinked(t *testing.T, m string, c *client.Client) {
	ctx := context.Background()
	before, err := c.StatFs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(m, "churn")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		p := filepath.Join(dir, "f"+string(rune('a'+i)))
		if err := os.WriteFile(p, []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := c.StatFs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.GetInodes() == before.GetInodes() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d inodes after, %d before: orphans left", st.GetInodes(), before.GetInodes())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testSetuidCleared: with FUSE_HANDLE_KILLPRIV the kernel leaves clearing
// setuid to the namespace. A write by a non-root owner clears it; a chmod
// that sets it again while the file is still open keeps it (the write is
// committed before the chmod, not at close); a chown by root clears it.
// Modes are checked at the other mount too, which has nothing cached.
func testSetuidCleared(t *testing.T, m, other string) {
	dir := filepath.Join(m, "suid")
	if err := errors.Join(os.Mkdir(dir, 0o755), os.Chmod(dir, 0o777)); err != nil {
		t.Fatal(err)
	}
	dirfd, err := syscall.Open(dir, syscall.O_DIRECTORY|syscall.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(dirfd)
	errs := make(chan error, 1)
	go func() {
		// The thread's credentials change, so it is never handed back.
		runtime.LockOSThread()
		setfs(1000)
		errs <- writeAsOwner(dirfd)
	}()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	for _, at := range []string{m, other} {
		for name, want := range map[string]uint32{"written": 0o755, "rechmodded": 0o4755} {
			var st syscall.Stat_t
			if err := syscall.Stat(filepath.Join(at, "suid", name), &st); err != nil || st.Mode&0o7777 != want {
				t.Errorf("%s at %s: mode %o, %v; want %o", name, at, st.Mode&0o7777, err, want)
			}
		}
	}
	if err := os.Chown(filepath.Join(dir, "rechmodded"), 0, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the other mount's cached attributes expire
	for _, at := range []string{m, other} {
		if fi, err := os.Stat(filepath.Join(at, "suid", "rechmodded")); err != nil || fi.Mode()&os.ModeSetuid != 0 {
			t.Errorf("after chown by root, at %s: %v, %v; want setuid cleared", at, fi.Mode(), err)
		}
	}
}

// writeAsOwner (on a thread acting as uid 1000) makes two setuid files in
// dirfd and writes them; it chmods the second back to setuid before
// closing it.
func writeAsOwner(dirfd int) error {
	for _, name := range []string{"written", "rechmodded"} {
		fd, err := unix.Openat(dirfd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, 0o4755)
		if err != nil {
			return err
		}
		_, err = unix.Write(fd, []byte("data"))
		if name == "rechmodded" {
			err = errors.Join(err, unix.Fchmod(fd, 0o4755))
		}
		if err = errors.Join(err, unix.Close(fd)); err != nil {
			return err
		}
	}
	return nil
}

// testAccessFromMemo: access(2) right after a stat is answered from the
// attributes the stat brought, and still refuses a caller the mode does
// not admit; a chmod made through the mount is seen at once.
func testAccessFromMemo(t *testing.T, m string, rc *rpcCounter) {
	p := filepath.Join(m, "private")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	rc.take()
	if err := unix.Access(p, unix.R_OK|unix.W_OK); err != nil {
		t.Fatalf("access as root: %v", err)
	}
	if got := rc.take(); got["GetAttr"] != 0 {
		t.Errorf("RPCs of access after stat: %v, want no GetAttr", got)
	}
	// Relative to a descriptor of the mount: the test's directories above
	// it are root's own.
	dirfd, err := syscall.Open(m, syscall.O_DIRECTORY|syscall.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(dirfd)
	asUser := func() error {
		errs := make(chan error, 1)
		go func() {
			// The thread's credentials change, so it is never handed back.
			runtime.LockOSThread()
			setfs(1000)
			errs <- unix.Faccessat(dirfd, "private", unix.R_OK, unix.AT_EACCESS)
		}()
		return <-errs
	}
	if err := asUser(); err != syscall.EACCES {
		t.Errorf("access as uid 1000 to a 0600 root file: %v, want EACCES", err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := asUser(); err != nil {
		t.Errorf("access as uid 1000 after chmod 0644: %v", err)
	}
}
