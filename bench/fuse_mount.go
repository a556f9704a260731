//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// mountWait bounds how long a mount child may take to mount, and how long
// it may take to unmount and exit after SIGTERM.
const (
	mountWait   = 60 * time.Second
	unmountWait = 15 * time.Second
)

// fuseMount is a FUSE server child and its mount point.
type fuseMount struct {
	dir  string
	proc *child
}

// startMount starts bin args (a FUSE server mounting dir) and waits until
// dir shows in the mount table.
func startMount(ctx context.Context, scratch, name, dir, bin string, args ...string) (*fuseMount, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c, err := startChild(scratch, name, bin, args...)
	if err != nil {
		return nil, err
	}
	m := &fuseMount{dir: dir, proc: c}
	ctx, cancel := context.WithTimeout(ctx, mountWait)
	defer cancel()
	err = poll(ctx, children{c}, 100*time.Millisecond, func(context.Context) error {
		if !isMounted(dir) {
			return fmt.Errorf("%s is not mounted yet", dir)
		}
		return nil
	})
	return m, err
}

// stop asks the server to unmount (SIGTERM), waits for it, detaches the
// mount lazily if it is still there, and kills the server.
func (m *fuseMount) stop() {
	select {
	case <-m.proc.done:
	default:
		m.proc.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have just exited
		select {
		case <-m.proc.done:
		case <-time.After(unmountWait):
		}
	}
	if isMounted(m.dir) {
		lazyUnmount(m.dir)
	}
	m.proc.kill()
}

// lazyUnmount detaches dir now; the kernel lets go once nothing uses it.
func lazyUnmount(dir string) {
	if out, err := exec.Command("fusermount3", "-u", "-z", dir).CombinedOutput(); err != nil {
		logf("fusermount3 -u -z %s: %v: %s", dir, err, strings.TrimSpace(string(out)))
	}
}

// isMounted reports whether dir is a mount point, from /proc/self/mountinfo.
func isMounted(dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && unescapeMountPath(f[4]) == dir {
			return true
		}
	}
	return false
}

// mountinfo escapes space, tab, newline and backslash as octal.
var mountPathUnescaper = strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)

func unescapeMountPath(s string) string { return mountPathUnescaper.Replace(s) }

// mountsUnder lists the mount points at or below dir, so that the scratch
// directory is never removed through a live mount.
func mountsUnder(dir string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 {
			if p := unescapeMountPath(f[4]); p == dir || strings.HasPrefix(p, dir+"/") {
				out = append(out, p)
			}
		}
	}
	return out
}
