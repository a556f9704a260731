package extents

import (
	"fmt"
	"testing"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

func show(ext []*pb.Extent) string {
	s := ""
	for _, e := range ext {
		if e.GetChunk() != "" {
			s += fmt.Sprintf("[%d+%d %s@%d]", e.GetOffset(), e.GetLength(), e.GetChunk(), e.GetChunkOffset())
		} else {
			s += fmt.Sprintf("[%d+%d %q]", e.GetOffset(), e.GetLength(), e.GetInline())
		}
	}
	return s
}

// TestEdits: each edit against the layout it must give, including the
// parts of cut extents (chunk offsets and inline bytes moved along), and
// that the input is left as it was.
func TestEdits(t *testing.T) {
	base := func() []*pb.Extent {
		return []*pb.Extent{{Offset: 0, Length: 10, Chunk: "a"}, {Offset: 20, Length: 5, Inline: []byte("vwxyz")}}
	}
	for _, tc := range []struct {
		name string
		got  []*pb.Extent
		want string
	}{
		{"punch inside a chunk extent", Punch(base(), 3, 5), `[0+3 a@0][5+5 a@5][20+5 "vwxyz"]`},
		{"punch across both", Punch(base(), 8, 22), `[0+8 a@0][22+3 "xyz"]`},
		{"punch a gap", Punch(base(), 10, 20), `[0+10 a@0][20+5 "vwxyz"]`},
		{"place over both", Place(base(), &pb.Extent{Offset: 9, Length: 12, Chunk: "b"}), `[0+9 a@0][9+12 b@0][21+4 "wxyz"]`},
		{"place in a gap", Place(base(), &pb.Extent{Offset: 12, Length: 2, Inline: []byte("hi")}), `[0+10 a@0][12+2 "hi"][20+5 "vwxyz"]`},
		{"overlapping", Overlapping(base(), 8, 22), `[8+2 a@8][20+2 "vw"]`},
		{"coalesce", Coalesce([]*pb.Extent{{Offset: 0, Length: 2, Chunk: "a", ChunkOffset: 4}, {Offset: 2, Length: 3, Chunk: "a", ChunkOffset: 6},
			{Offset: 5, Length: 1, Chunk: "a", ChunkOffset: 0}, {Offset: 6, Length: 2, Inline: []byte("pq")}, {Offset: 8, Length: 1, Inline: []byte("r")},
			{Offset: 10, Length: 1, Inline: []byte("s")}}), `[0+5 a@4][5+1 a@0][6+3 "pqr"][10+1 "s"]`},
	} {
		if got := show(tc.got); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	b := base()
	Place(b, &pb.Extent{Offset: 2, Length: 1, Chunk: "c"})
	Coalesce(append(b, &pb.Extent{Offset: 25, Length: 1, Inline: []byte("!")}))
	if got := show(b); got != show(base()) {
		t.Errorf("edits changed their input: %s", got)
	}
}
