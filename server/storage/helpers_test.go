package storage

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// openEngine opens an engine on fs (a fresh MemFS when nil) and closes it
// when the test ends unless the test closed it.
func openEngine(t testing.TB, fs vfs.FS) *Engine {
	t.Helper()
	if fs == nil {
		fs = vfs.NewMem()
	}
	e, err := Open("db", Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// kv is one key and value seen by a scan.
type kv struct{ k, v string }

func scanAll(t testing.TB, scan func([]byte, []byte, func(k, v []byte) bool) error, start, end []byte) []kv {
	t.Helper()
	var out []kv
	must(t, scan(start, end, func(k, v []byte) bool {
		out = append(out, kv{string(k), string(v)})
		return true
	}))
	return out
}

func getString(t testing.TB, get func([]byte) ([]byte, bool, error), key string) (string, bool) {
	t.Helper()
	v, ok, err := get([]byte(key))
	must(t, err)
	return string(v), ok
}

func fmtKV(kvs []kv) string {
	var b bytes.Buffer
	for _, p := range kvs {
		fmt.Fprintf(&b, "%s=%s ", p.k, p.v)
	}
	return b.String()
}
