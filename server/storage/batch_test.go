package storage

import (
	"testing"
)

func TestBatchReadYourWrites(t *testing.T) {
	e := openEngine(t, nil)
	b := e.NewBatch(1)
	must(t, b.Put([]byte("a"), []byte("1")))
	must(t, b.Put([]byte("b"), []byte("2")))
	must(t, b.Commit(true))
	must(t, b.Close())

	b = e.NewBatch(1)
	defer b.Close()
	if v, ok := getString(t, b.Get, "a"); !ok || v != "1" {
		t.Fatalf("committed a: %q %v", v, ok)
	}
	val := []byte("x")
	must(t, b.Put([]byte("a"), val))
	val[0] = 'y' // the batch copied the value
	if v, ok := getString(t, b.Get, "a"); !ok || v != "x" {
		t.Fatalf("overwritten a: %q %v", v, ok)
	}
	must(t, b.Delete([]byte("b")))
	if _, ok := getString(t, b.Get, "b"); ok {
		t.Fatal("deleted b still visible in its batch")
	}
	must(t, b.Put([]byte("c"), []byte{}))
	if v, ok := getString(t, b.Get, "c"); !ok || v != "" {
		t.Fatalf("empty value: %q %v", v, ok)
	}
	// Nothing is visible outside the batch before Commit.
	v, err := e.View(1)
	must(t, err)
	if got, ok := getString(t, v.Get, "a"); !ok || got != "1" {
		t.Fatalf("view sees uncommitted write: %q", got)
	}
	must(t, v.Close())
	must(t, b.Commit(false))
	if err := b.Put([]byte("d"), nil); err == nil {
		t.Fatal("write after commit accepted")
	}
	v, err = e.View(1)
	must(t, err)
	defer v.Close()
	if got := fmtKV(scanAll(t, v.Scan, nil, nil)); got != "a=x c= " {
		t.Fatalf("after commit: %s", got)
	}
}

func TestBatchScanMerges(t *testing.T) {
	e := openEngine(t, nil)
	b := e.NewBatch(7)
	for _, k := range []string{"a", "c", "e", "g", "i"} {
		must(t, b.Put([]byte(k), []byte("db")))
	}
	must(t, b.Commit(false))
	b.Close()

	b = e.NewBatch(7)
	defer b.Close()
	if got := fmtKV(scanAll(t, b.Scan, nil, nil)); got != "a=db c=db e=db g=db i=db " {
		t.Fatalf("clean batch scan: %s", got)
	}
	must(t, b.Put([]byte("b"), []byte("new")))
	must(t, b.Put([]byte("e"), []byte("upd")))
	must(t, b.Delete([]byte("g")))
	must(t, b.Put([]byte("j"), []byte("new")))
	must(t, b.Delete([]byte("zz"))) // absent key

	for _, c := range []struct{ start, end, want string }{
		{"", "", "a=db b=new c=db e=upd i=db j=new "},
		{"b", "i", "b=new c=db e=upd "},
		{"c", "c", ""},
		{"f", "", "i=db j=new "},
	} {
		var end []byte
		if c.end != "" {
			end = []byte(c.end)
		}
		if got := fmtKV(scanAll(t, b.Scan, []byte(c.start), end)); got != c.want {
			t.Errorf("scan [%q,%q): %s, want %s", c.start, c.end, got, c.want)
		}
	}
	// Early stop.
	n := 0
	must(t, b.Scan(nil, nil, func(k, v []byte) bool { n++; return n < 2 }))
	if n != 2 {
		t.Fatalf("scan did not stop: %d calls", n)
	}
}

func TestKeyspacesAndShardsAreSeparate(t *testing.T) {
	e := openEngine(t, nil)
	for shard := uint64(1); shard <= 3; shard++ {
		b := e.NewBatch(shard)
		must(t, b.Put([]byte("k"), []byte{byte('0' + shard)}))
		must(t, b.PutSys([]byte("k"), []byte("sys")))
		must(t, b.SetApplied(10*shard, shard))
		must(t, b.Commit(false))
		b.Close()
	}
	b := e.NewBatch(2)
	defer b.Close()
	if v, _ := getString(t, b.Get, "k"); v != "2" {
		t.Fatalf("shard 2 namespace key: %q", v)
	}
	if v, _ := getString(t, b.GetSys, "k"); v != "sys" {
		t.Fatalf("shard 2 sys key: %q", v)
	}
	must(t, b.DeleteSys([]byte("k")))
	if _, ok := getString(t, b.GetSys, "k"); ok {
		t.Fatal("deleted sys key visible")
	}
	if v, _ := getString(t, b.Get, "k"); v != "2" {
		t.Fatal("DeleteSys touched the namespace key")
	}
	if got := fmtKV(scanAll(t, b.Scan, nil, nil)); got != "k=2 " {
		t.Fatalf("namespace scan sees other keyspaces: %s", got)
	}
	if got := fmtKV(scanAll(t, b.ScanSys, nil, nil)); got != "" {
		t.Fatalf("sys scan after delete: %s", got)
	}
	idx, term, err := e.Applied(3)
	must(t, err)
	if idx != 30 || term != 3 {
		t.Fatalf("applied of shard 3: %d/%d", idx, term)
	}
	if idx, _, _ := e.Applied(9); idx != 0 {
		t.Fatalf("applied of an unknown shard: %d", idx)
	}
}

func TestViewIsPointInTime(t *testing.T) {
	e := openEngine(t, nil)
	b := e.NewBatch(1)
	must(t, b.Put([]byte("a"), []byte("1")))
	must(t, b.PutSys([]byte("m"), []byte("x")))
	must(t, b.SetApplied(5, 2))
	must(t, b.Commit(false))
	b.Close()

	v, err := e.View(1)
	must(t, err)
	defer v.Close()

	b = e.NewBatch(1)
	must(t, b.Put([]byte("a"), []byte("2")))
	must(t, b.Put([]byte("b"), []byte("2")))
	must(t, b.SetApplied(6, 2))
	must(t, b.Commit(false))
	b.Close()

	if v.Applied() != 5 || v.AppliedTerm() != 2 {
		t.Fatalf("view applied %d/%d", v.Applied(), v.AppliedTerm())
	}
	if got := fmtKV(scanAll(t, v.Scan, nil, nil)); got != "a=1 " {
		t.Fatalf("view sees a later commit: %s", got)
	}
	if got, _ := getString(t, v.GetSys, "m"); got != "x" {
		t.Fatalf("view sys: %q", got)
	}
	must(t, v.Close())
	if _, _, err := v.Get([]byte("a")); err == nil {
		t.Fatal("read on a closed view succeeded")
	}
}

func TestGetValuesSurviveLaterReads(t *testing.T) {
	e := openEngine(t, nil)
	b := e.NewBatch(1)
	for i := range 100 {
		must(t, b.Put([]byte{byte(i)}, []byte{byte(i), byte(i)}))
	}
	must(t, b.Commit(false))
	b.Close()
	b = e.NewBatch(1)
	defer b.Close()
	var vals [][]byte
	for i := range 100 {
		v, ok, err := b.Get([]byte{byte(i)})
		must(t, err)
		if !ok {
			t.Fatalf("key %d missing", i)
		}
		vals = append(vals, v)
	}
	for i, v := range vals {
		if len(v) != 2 || v[0] != byte(i) || v[1] != byte(i) {
			t.Fatalf("value %d clobbered: %v", i, v)
		}
	}
}
