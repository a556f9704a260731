package fusefs_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/geomds/geomds/client/fusefs"
	"github.com/hanwen/go-fuse/v2/posixtest"
)

// posixSkip lists the posixtest tests that cannot pass, and why (see
// docs/POSIX.md).
var posixSkip = map[string]string{
	"FcntlFlockLocksFile": "expects a second descriptor of the same process to conflict with the first's " +
		"fcntl lock, but POSIX record locks belong to the process; go-fuse's own run skips it too",
}

// TestPosix (suite posix) runs go-fuse's posixtest suite against a mount
// of a real 3-node cluster, each test in a fresh directory.
func TestPosix(t *testing.T) {
	cl := startCluster(t)
	c := newClient(t, cl, "east")
	mnt := mount(t, c, fusefs.Options{})
	for _, name := range slices.Sorted(maps.Keys(posixtest.All)) {
		t.Run(name, func(t *testing.T) {
			if why, ok := posixSkip[name]; ok {
				t.Skip(why)
			}
			guard(t, mnt, time.Minute)
			dir := filepath.Join(mnt, name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			posixtest.All[name](t, dir)
			t.Logf("%s took %v", name, time.Since(start))
		})
	}
}
