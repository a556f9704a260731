package client

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/geomds/geomds/proto/chunksum"
	"github.com/geomds/geomds/proto/extents"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"pgregory.net/rapid"
)

// TestContentModel drives a content's buffer and layout logic with random
// writes, "uploads" (a buffered piece moved into the layout, here as an
// inline extent so no node is needed), truncates and commits, and after
// each step compares every read with a plain byte slice.
func TestContentModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cn := &content{refs: map[string]*pb.ChunkRef{}, loaded: true}
		var model []byte
		for step := range rapid.IntRange(1, 40).Draw(t, "steps") {
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0:
				off := rapid.IntRange(0, 300).Draw(t, "off")
				data := rapid.SliceOfN(rapid.Byte(), 1, 80).Draw(t, "data")
				cn.segs = cn.segs.write(data, int64(off))
				cn.size = max(cn.size, int64(off+len(data)))
				model = writeModel(model, data, off)
			case 1:
				fakeUploadAll(cn)
			case 2:
				size := rapid.IntRange(0, 400).Draw(t, "size")
				cn.truncateLocked(int64(size))
				model = truncateModel(model, size)
			case 3:
				fakeUploadAll(cn)
				cn.segs = nil
			}
			checkSegments(t, cn.segs)
			checkExtents(t, cn.layout, uint64(cn.size))
			if cn.size != int64(len(model)) {
				t.Fatalf("step %d: size %d, model %d", step, cn.size, len(model))
			}
			got := make([]byte, cn.size)
			if _, err := cn.planLocked(got, 0); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, model) {
				t.Fatalf("step %d: contents\n got %v\nwant %v", step, got, model)
			}
			off := rapid.IntRange(0, len(model)).Draw(t, "readoff")
			part := make([]byte, rapid.IntRange(0, len(model)-off).Draw(t, "readlen"))
			if _, err := cn.planLocked(part, int64(off)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(part, model[off:off+len(part)]) {
				t.Fatalf("step %d: read at %d: got %v want %v", step, off, part, model[off:off+len(part)])
			}
		}
	})
}

// fakeUploadAll moves every buffered byte into the layout as inline
// extents, as flushAllLocked does with chunks.
func fakeUploadAll(cn *content) {
	for _, g := range cn.segs {
		cn.layout = extents.Place(cn.layout, &pb.Extent{Offset: uint64(g.off), Length: uint64(len(g.data)), Inline: bytes.Clone(g.data)})
	}
	cn.segs = nil
}

func writeModel(m, data []byte, off int) []byte {
	if end := off + len(data); end > len(m) {
		m = append(m, make([]byte, end-len(m))...)
	}
	copy(m[off:], data)
	return m
}

func truncateModel(m []byte, size int) []byte {
	if size <= len(m) {
		return m[:size]
	}
	return append(m, make([]byte, size-len(m))...)
}

func checkSegments(t *rapid.T, s segments) {
	for i := range s {
		if len(s[i].data) == 0 {
			t.Fatalf("empty segment at %d", s[i].off)
		}
		if i > 0 && s[i-1].end() >= s[i].off {
			t.Fatalf("segments %d and %d overlap or touch: %v", i-1, i, s)
		}
	}
}

func checkExtents(t *rapid.T, ext []*pb.Extent, size uint64) {
	var end uint64
	for _, e := range ext {
		if e.GetLength() == 0 || e.GetOffset() < end || extents.End(e) > size {
			t.Fatalf("bad layout for size %d: %v", size, ext)
		}
		if e.GetChunk() == "" && uint64(len(e.GetInline())) != e.GetLength() {
			t.Fatalf("inline extent length mismatch: %v", e)
		}
		end = extents.End(e)
	}
}

// verifySum checks data as getStream does, given the node's first and
// last sums.
func verifySum(data, nodeFirst, nodeLast, record []byte) error {
	var ss sums
	if err := ss.expect(record, nodeFirst); err != nil {
		return err
	}
	ss.write(data)
	node := nodeFirst
	if node == nil {
		node = nodeLast
	}
	return ss.verify(node, record)
}

func TestVerifySum(t *testing.T) {
	data := []byte("chunk data")
	good, bad := chunksum.Of(data), chunksum.Of([]byte("other"))
	sha, badSHA := sha256.Sum256(data), sha256.Sum256([]byte("other"))
	for _, tc := range []struct {
		name                string
		first, last, record []byte
		ok                  bool
	}{
		{"recorded at the node", good, nil, good, true},
		{"computed by the node", nil, good, good, true},
		{"node only", good, nil, nil, true},
		{"record only", nil, nil, good, true},
		{"damage at rest: only the record's sum tells", nil, bad, good, false},
		{"damage in transit", bad, nil, good, false},
		{"no sum at all", nil, nil, nil, false},
		{"SHA-256 recorded at both", sha[:], nil, sha[:], true},
		{"SHA-256 record, CRC-32C computed by the node", nil, good, sha[:], true},
		{"SHA-256 record, damage at rest", nil, bad, badSHA[:], false},
		{"SHA-256 record does not match", nil, good, badSHA[:], false},
		{"sum of an unknown kind", nil, good, sha[:5], false},
	} {
		if err := verifySum(data, tc.first, tc.last, tc.record); (err == nil) != tc.ok {
			t.Errorf("%s: verifySum = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
