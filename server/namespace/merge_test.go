package namespace

import (
	"bytes"
	"testing"

	"pgregory.net/rapid"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// TestMergeLayoutModel: merging writes (with or without a cut) over a
// layout gives the bytes and size a plain byte slice gets from the same
// truncation and writes, and a layout that stays ordered, disjoint and
// coalesced. Inline extents carry the bytes; chunk extents are checked
// through a model of each chunk's contents.
func TestMergeLayoutModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		chunks := map[string][]byte{}
		var file []byte
		var ext []*pb.Extent
		for i := range rapid.IntRange(1, 6).Draw(t, "commits") {
			op := &pb.SetLayout{Merge: true}
			want := append([]byte(nil), file...)
			if rapid.Bool().Draw(t, "truncate") {
				c := uint64(rapid.IntRange(0, 40).Draw(t, "cut"))
				op.Cut = proto.Uint64(c)
				want = resize(want, int(c))
			}
			end := uint64(0)
			for j := range rapid.IntRange(0, 4).Draw(t, "writes") {
				off := uint64(rapid.IntRange(int(end), int(end)+10).Draw(t, "off"))
				n := uint64(rapid.IntRange(1, 10).Draw(t, "len"))
				data := make([]byte, n)
				for k := range data {
					data[k] = byte('a' + (i*7+j*3+k)%26) // every offset differs
				}
				w := &pb.Extent{Offset: off, Length: n, Inline: data}
				if rapid.Bool().Draw(t, "chunk") {
					id := string(rune('A'+i)) + string(rune('0'+j))
					co := uint64(rapid.IntRange(0, 3).Draw(t, "chunk offset"))
					chunks[id] = append(make([]byte, co), data...)
					w = &pb.Extent{Offset: off, Length: n, Chunk: id, ChunkOffset: co}
				}
				op.Extents = append(op.Extents, w)
				if int(off+n) > len(want) {
					want = resize(want, int(off+n))
				}
				copy(want[off:], data)
				end = off + n
			}
			op.Size = uint64(len(want))
			if op.Cut == nil {
				op.Size = max(end, uint64(rapid.IntRange(0, 40).Draw(t, "writer's stale size")))
			}
			var size uint64
			var err error
			ext, size, err = mergeLayout(ext, uint64(len(file)), op)
			if err != nil {
				t.Fatal(err)
			}
			if op.Cut == nil && len(want) < len(file) {
				want = resize(want, len(file))
			}
			file = want
			if size != uint64(len(file)) {
				t.Fatalf("commit %d: size %d, want %d", i, size, len(file))
			}
			if got := materialize(t, ext, chunks, size); !bytes.Equal(got, file) {
				t.Fatalf("commit %d: contents %q, want %q (layout %v)", i, got, file, ext)
			}
		}
	})
}

func resize(b []byte, n int) []byte {
	if n <= len(b) {
		return b[:n]
	}
	return append(b, make([]byte, n-len(b))...)
}

// materialize reads a layout into bytes (holes are zeros), checking that
// it is ordered, disjoint, inside size and coalesced.
func materialize(t *rapid.T, ext []*pb.Extent, chunks map[string][]byte, size uint64) []byte {
	out := make([]byte, size)
	var prev *pb.Extent
	for _, e := range ext {
		if e.GetLength() == 0 || e.GetOffset()+e.GetLength() > size {
			t.Fatalf("extent %v empty or past size %d", e, size)
		}
		if prev != nil {
			pEnd := prev.GetOffset() + prev.GetLength()
			if e.GetOffset() < pEnd {
				t.Fatalf("extents %v and %v overlap or are out of order", prev, e)
			}
			sameInline := prev.GetChunk() == "" && e.GetChunk() == ""
			sameChunk := e.GetChunk() != "" && prev.GetChunk() == e.GetChunk() &&
				prev.GetChunkOffset()+prev.GetLength() == e.GetChunkOffset()
			if pEnd == e.GetOffset() && (sameInline || sameChunk) {
				t.Fatalf("extents %v and %v continue each other but were not joined", prev, e)
			}
		}
		prev = e
		src := e.GetInline()
		if e.GetChunk() != "" {
			src = chunks[e.GetChunk()][e.GetChunkOffset() : e.GetChunkOffset()+e.GetLength()]
		}
		if uint64(len(src)) != e.GetLength() {
			t.Fatalf("extent %v holds %d bytes", e, len(src))
		}
		copy(out[e.GetOffset():], src)
	}
	return out
}

// TestLaterVersionRefused: a command this code cannot apply as a later
// version would (fields it does not know, anywhere in the command; an
// operation it does not know) and a command of a version above the
// cluster's are refused with the same ENOTSUP result and change nothing
// else, so replicas of two versions store identical results.
func TestLaterVersionRefused(t *testing.T) {
	unknown := protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1)
	withUnknown := func(c *pb.Command, m proto.Message) *pb.Command {
		if m == nil {
			m = c
		}
		m.ProtoReflect().SetUnknown(unknown)
		return c
	}
	nested := &pb.Extent{Offset: 0, Length: 1, Inline: []byte("x")}
	layout := &pb.SetLayout{Ino: 1, Size: 1, Extents: []*pb.Extent{nested}}
	mk := mkdirCmd("/a", 0, 0, 0, 1)
	cases := map[string]struct {
		cmd     *pb.Command
		cluster uint64
	}{
		"unknown field in the command":   {withUnknown(mkdirCmd("/a", 0, 0, 0, 1), nil), CommandVersion},
		"unknown field in the operation": {withUnknown(mk, mk.GetMkdir()), CommandVersion},
		"unknown field in a nested message": {withUnknown(&pb.Command{Op: &pb.Command_SetLayout{SetLayout: layout}}, nested),
			CommandVersion},
		"unknown operation": {withUnknown(&pb.Command{}, nil), CommandVersion},
		"merge in a version-1 cluster": {&pb.Command{Op: &pb.Command_SetLayout{SetLayout: &pb.SetLayout{
			Ino: 1, Merge: true}}}, 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tx := newTx(t)
			before, _ := Digest(tx)
			res, err := ApplyAt(tx, tc.cmd, tc.cluster)
			if err != nil || res.GetErrno() != pb.Errno_ENOTSUP || res.GetDetail() != laterVersion {
				t.Fatalf("ApplyAt = %v, %v; want ENOTSUP %q", res, err, laterVersion)
			}
			if after, _ := Digest(tx); after != before {
				t.Fatal("a refused command changed the state")
			}
		})
	}
}
