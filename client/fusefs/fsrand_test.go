package fusefs_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/geomds/geomds/client/fusefs"
	"pgregory.net/rapid"
)

// fsrandBudget bounds the time TestFsrand spends generating cases; cases
// started after it pass at once.
const fsrandBudget = 20 * time.Second

// TestFsrand (suite fsrand) applies the same random operations to the
// mount and to a local directory and requires the same outcome: errno,
// and then the tree's names, types, modes, sizes, link counts, symlink
// targets and (at the end of each case) file contents.
func TestFsrand(t *testing.T) {
	cl := startCluster(t)
	m := mount(t, newClient(t, cl, "east"), fusefs.Options{})
	guard(t, m, 2*time.Minute) // the budget, plus shrinking a failure
	local := t.TempDir()
	dirLinks := countsDirLinks(t, local)
	start, cases := time.Now(), 0
	var stats fsrandStats
	rapid.Check(t, func(rt *rapid.T) {
		if time.Since(start) > fsrandBudget {
			return
		}
		cases++
		sub := fmt.Sprintf("case%d", cases)
		f := &fsrand{a: filepath.Join(local, sub), b: filepath.Join(m, sub), dirLinks: dirLinks, stats: &stats}
		if err := errors.Join(os.Mkdir(f.a, 0o755), os.Mkdir(f.b, 0o755)); err != nil {
			rt.Fatal(err)
		}
		rt.Repeat(f.actions())
		f.compareContents(rt)
	})
	t.Logf("%d cases in %v: %d operations, %d succeeded, %d failed alike", cases, time.Since(start),
		stats.ops, stats.ok, stats.ops-stats.ok)
	if stats.ok < 50 || stats.ops-stats.ok < 50 {
		t.Errorf("too few operations succeeded (%d) or failed (%d) to mean much", stats.ok, stats.ops-stats.ok)
	}
}

// fsrand applies each operation to a (local) and b (the mount).
type fsrand struct {
	a, b     string
	dirLinks bool // compare directories' link counts (the local file system keeps 2+subdirectories)
	stats    *fsrandStats
}

// countsDirLinks reports whether the file system at dir counts a
// directory's links as 2 plus its subdirectories (btrfs, for one, says 1).
func countsDirLinks(t *testing.T, dir string) bool {
	p := filepath.Join(dir, "probe")
	if err := os.MkdirAll(filepath.Join(p, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(p)
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	if st.Nlink != 3 {
		t.Logf("the local file system gives a directory with one subdirectory %d links: not comparing directories' link counts", st.Nlink)
	}
	return st.Nlink == 3
}

type fsrandStats struct{ ops, ok int }

// names are the paths operations pick from: two levels, so renames and
// removals meet non-empty directories.
var names = []string{"a", "b", "c", "d", "e", "d/a", "d/b", "d/f", "d/f/a", "e/a"}

var symlinkTargets = []string{"a", "d", "../a", "missing", "d/f"}

func (f *fsrand) actions() map[string]func(*rapid.T) {
	acts := f.ops()
	// Creation twice as often, so trees grow enough for the rest to bite.
	acts["create again"], acts["mkdir again"] = acts["create"], acts["mkdir"]
	acts[""] = f.compareTrees
	return acts
}

func (f *fsrand) ops() map[string]func(*rapid.T) {
	name := rapid.SampledFrom(names)
	mode := rapid.SampledFrom([]uint32{0o600, 0o644, 0o755, 0o700, 0o444})
	return map[string]func(*rapid.T){
		"create": func(t *rapid.T) {
			p, m := name.Draw(t, "name"), mode.Draw(t, "mode")
			f.same(t, "create "+p, func(root string) error {
				fd, err := syscall.Open(filepath.Join(root, p), syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY, m)
				if err == nil {
					err = syscall.Close(fd)
				}
				return err
			})
		},
		"write": func(t *rapid.T) {
			p := name.Draw(t, "name")
			off := rapid.IntRange(0, 9000).Draw(t, "off")
			data := bytes.Repeat([]byte{rapid.Byte().Draw(t, "byte")}, rapid.IntRange(1, 9000).Draw(t, "len"))
			f.same(t, fmt.Sprintf("write %s at %d", p, off), func(root string) error {
				fd, err := syscall.Open(filepath.Join(root, p), syscall.O_WRONLY, 0)
				if err != nil {
					return err
				}
				_, werr := syscall.Pwrite(fd, data, int64(off))
				return errors.Join(werr, syscall.Close(fd))
			})
		},
		"truncate": func(t *rapid.T) {
			p, size := name.Draw(t, "name"), rapid.IntRange(0, 12000).Draw(t, "size")
			f.same(t, fmt.Sprintf("truncate %s %d", p, size), func(root string) error {
				return syscall.Truncate(filepath.Join(root, p), int64(size))
			})
		},
		"mkdir": func(t *rapid.T) {
			p, m := name.Draw(t, "name"), mode.Draw(t, "mode")|0o700
			f.same(t, "mkdir "+p, func(root string) error { return syscall.Mkdir(filepath.Join(root, p), m) })
		},
		"rmdir": func(t *rapid.T) {
			p := name.Draw(t, "name")
			f.same(t, "rmdir "+p, func(root string) error { return syscall.Rmdir(filepath.Join(root, p)) })
		},
		"unlink": func(t *rapid.T) {
			p := name.Draw(t, "name")
			f.same(t, "unlink "+p, func(root string) error { return syscall.Unlink(filepath.Join(root, p)) })
		},
		"rename": func(t *rapid.T) {
			from, to := name.Draw(t, "from"), name.Draw(t, "to")
			f.same(t, "rename "+from+" "+to, func(root string) error {
				return syscall.Rename(filepath.Join(root, from), filepath.Join(root, to))
			})
		},
		"link": func(t *rapid.T) {
			from, to := name.Draw(t, "from"), name.Draw(t, "to")
			f.same(t, "link "+from+" "+to, func(root string) error {
				return syscall.Link(filepath.Join(root, from), filepath.Join(root, to))
			})
		},
		"symlink": func(t *rapid.T) {
			target, p := rapid.SampledFrom(symlinkTargets).Draw(t, "target"), name.Draw(t, "name")
			f.same(t, "symlink "+target+" "+p, func(root string) error {
				return syscall.Symlink(target, filepath.Join(root, p))
			})
		},
		"chmod": func(t *rapid.T) {
			p, m := name.Draw(t, "name"), mode.Draw(t, "mode")
			f.same(t, fmt.Sprintf("chmod %s %o", p, m), func(root string) error {
				return syscall.Chmod(filepath.Join(root, p), m)
			})
		},
	}
}

// same runs op on both trees and requires the same errno.
func (f *fsrand) same(t *rapid.T, what string, op func(root string) error) {
	ea, eb := errnoOf(op(f.a)), errnoOf(op(f.b))
	f.stats.ops++
	if ea == 0 {
		f.stats.ok++
	}
	if ea != eb {
		t.Fatalf("%s: local %v, mount %v", what, ea, eb)
	}
}

func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}

// compareTrees requires the same entries with the same metadata.
func (f *fsrand) compareTrees(t *rapid.T) {
	ta, tb := describeTree(t, f.a, f.dirLinks), describeTree(t, f.b, f.dirLinks)
	if ta != tb {
		t.Fatalf("trees differ:\nlocal %s\nmount %s", ta, tb)
	}
}

// compareContents requires every regular file to read the same.
func (f *fsrand) compareContents(t *rapid.T) {
	for _, p := range regularFiles(t, f.a) {
		ca, erra := os.ReadFile(filepath.Join(f.a, p))
		cb, errb := os.ReadFile(filepath.Join(f.b, p))
		if errnoOf(erra) != errnoOf(errb) || !bytes.Equal(ca, cb) {
			t.Fatalf("%s: local %d bytes (%v), mount %d bytes (%v)", p, len(ca), erra, len(cb), errb)
		}
	}
}

// describeTree renders every entry under root: path, type and mode, link
// count (of directories only with dirLinks), size (not for directories,
// whose sizes differ by design) and symlink target, in name order.
func describeTree(t *rapid.T, root string, dirLinks bool) string {
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %o", strings.TrimPrefix(p, root), st.Mode)
		if dirLinks || !d.IsDir() {
			fmt.Fprintf(&b, " n%d", st.Nlink)
		}
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFREG:
			fmt.Fprintf(&b, " s%d", st.Size)
		case syscall.S_IFLNK:
			target, _ := os.Readlink(p)
			fmt.Fprintf(&b, " ->%s", target)
		}
		b.WriteString("; ")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func regularFiles(t *rapid.T, root string) []string {
	var out []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, strings.TrimPrefix(p, root+"/"))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
