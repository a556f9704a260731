package geomds_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/geomds/geomds/"

// allowedImports is DESIGN.md's "may import" column: for every package of
// the module, the module packages and the outside libraries (by prefix) its
// non-test files may import. The standard library is always allowed. A new
// package without a row fails the test, so the table stays complete.
var allowedImports = map[string][]string{
	"proto/geomdspb":                 {"google.golang.org/protobuf/", "google.golang.org/grpc"},
	"proto/chunksum":                 {},
	"proto/extents":                  {"proto/geomdspb"},
	"proto/errstatus":                {"proto/geomdspb", "google.golang.org/grpc", "google.golang.org/genproto/"},
	"server/namespace":               {"proto/geomdspb", "proto/extents", "google.golang.org/protobuf/reflect/protoreflect"},
	"server/namespace/namespacetest": {"server/namespace", "proto/geomdspb"},
	"server/replica/replicatest":     {"server/replica", "go.etcd.io/raft/v3", "google.golang.org/protobuf/"},
	"server/storage":                 {"github.com/cockroachdb/pebble/v2", "go.etcd.io/raft/v3", "google.golang.org/protobuf/"},
	"server/replica":                 {"go.etcd.io/raft/v3", "google.golang.org/protobuf/"},
	"server/transport":               {"proto/geomdspb", "go.etcd.io/raft/v3", "google.golang.org/grpc", "google.golang.org/protobuf/"},
	"chunkstore":                     {"proto/chunksum", "gocloud.dev/", "github.com/aws/", "golang.org/x/sys/"},
	"chunkstore/chunkstoretest":      {"chunkstore", "proto/chunksum"},
	"server/chunk":                   {"chunkstore", "proto/geomdspb", "proto/chunksum", "proto/errstatus", "gocloud.dev/", "google.golang.org/grpc", "google.golang.org/protobuf/", "google.golang.org/genproto/", "github.com/aws/", "golang.org/x/sys/"},
	"server/fsm":                     {"proto/geomdspb", "server/namespace", "server/storage", "server/replica", "go.etcd.io/raft/v3", "google.golang.org/protobuf/"},
	"server/metrics":                 {"server/replica", "github.com/prometheus/client_golang/", "go.etcd.io/raft/v3", "google.golang.org/grpc"},
	"server/rpc":                     {"proto/geomdspb", "proto/chunksum", "proto/errstatus", "server/namespace", "server/storage", "server/replica", "server/fsm", "server/chunk", "google.golang.org/grpc", "google.golang.org/protobuf/", "google.golang.org/genproto/", "go.etcd.io/raft/v3"},
	"server":                         {"chunkstore", "proto/geomdspb", "server", "server/", "google.golang.org/grpc", "google.golang.org/protobuf/", "go.etcd.io/raft/v3", "github.com/cockroachdb/pebble/v2"},
	"client":                         {"chunkstore", "proto/geomdspb", "proto/chunksum", "proto/extents", "proto/errstatus", "google.golang.org/grpc", "google.golang.org/protobuf/", "google.golang.org/genproto/", "golang.org/x/sync/"},
	"client/fusefs":                  {"client", "proto/geomdspb", "github.com/hanwen/go-fuse/v2/"},
	"cmd/geomds":                     {"chunkstore", "server", "server/", "proto/geomdspb", "client", "client/fusefs", "github.com/spf13/cobra"},
	"cmd/geomdsctl":                  {"chunkstore", "client", "client/fusefs", "proto/geomdspb", "github.com/spf13/cobra", "github.com/spf13/pflag", "golang.org/x/term", "github.com/hanwen/go-fuse/v2/"},
}

func TestImportRules(t *testing.T) {
	pkgs := map[string]map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (path == "bench" || strings.HasPrefix(d.Name(), ".") && path != ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if dir == "." || strings.Contains(dir, "testdata") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		if pkgs[dir] == nil {
			pkgs[dir] = map[string]bool{}
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			pkgs[dir][p] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for d := range pkgs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		rules, ok := rulesFor(dir)
		if !ok {
			t.Errorf("%s: no row in allowedImports; add one (DESIGN.md's import rules)", dir)
			continue
		}
		for imp := range pkgs[dir] {
			if !allowed(imp, rules) {
				t.Errorf("%s may not import %s", dir, imp)
			}
		}
	}
}

// rulesFor finds the row of dir; test-support packages under a listed
// package (for example server/replica/replicatest) share its row.
func rulesFor(dir string) ([]string, bool) {
	for d := dir; d != "."; d = filepath.ToSlash(filepath.Dir(d)) {
		if r, ok := allowedImports[d]; ok {
			return r, true
		}
	}
	return nil, false
}

func allowed(imp string, rules []string) bool {
	if !strings.Contains(strings.Split(imp, "/")[0], ".") {
		return true // standard library
	}
	for _, r := range rules {
		full := r
		if !strings.Contains(strings.Split(r, "/")[0], ".") {
			full = module + r
		}
		if imp == full || strings.HasSuffix(full, "/") && strings.HasPrefix(imp, full) || strings.HasPrefix(imp, full+"/") && !strings.HasPrefix(full, module) {
			return true
		}
	}
	return false
}
