// Package extents edits file layouts: ordered, disjoint extents of a file
// into chunks or inline bytes (geomdspb.Extent; gaps read as zeros). The
// namespace merges a writer's extents into a file's layout with them, and
// the client keeps its view of a file with the same functions. None of
// them modifies an extent in place, so layouts may share extents.
package extents

import (
	"cmp"
	"slices"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Max is the most extents a file's layout may hold: the namespace refuses a
// commit past it with EFBIG, so that the commands that rewrite a layout
// stay short.
const Max = 1 << 16

// End is the file offset just past e.
func End(e *pb.Extent) uint64 { return e.GetOffset() + e.GetLength() }

// Slice returns the part [from, to) of e, in file offsets inside e.
func Slice(e *pb.Extent, from, to uint64) *pb.Extent {
	d := from - e.GetOffset()
	out := &pb.Extent{Offset: from, Length: to - from, Chunk: e.GetChunk()}
	if e.GetChunk() != "" {
		out.ChunkOffset = e.GetChunkOffset() + d
	} else {
		out.Inline = e.GetInline()[d : d+(to-from)]
	}
	return out
}

// Punch returns ext without the range [off, end).
func Punch(ext []*pb.Extent, off, end uint64) []*pb.Extent {
	out := make([]*pb.Extent, 0, len(ext)+1)
	for _, e := range ext {
		if End(e) <= off || e.GetOffset() >= end {
			out = append(out, e)
			continue
		}
		if e.GetOffset() < off {
			out = append(out, Slice(e, e.GetOffset(), off))
		}
		if End(e) > end {
			out = append(out, Slice(e, end, End(e)))
		}
	}
	return out
}

// Place returns ext with x in place of whatever covered x's range.
func Place(ext []*pb.Extent, x *pb.Extent) []*pb.Extent {
	ext = Punch(ext, x.GetOffset(), End(x))
	i, _ := slices.BinarySearchFunc(ext, x.GetOffset(), func(e *pb.Extent, off uint64) int {
		return cmp.Compare(e.GetOffset(), off)
	})
	return slices.Insert(ext, i, x)
}

// Overlapping returns the extents of ext that intersect [off, end), cut to
// that range.
func Overlapping(ext []*pb.Extent, off, end uint64) []*pb.Extent {
	i, _ := slices.BinarySearchFunc(ext, off, func(e *pb.Extent, off uint64) int {
		if End(e) <= off {
			return -1
		}
		return 1
	})
	var out []*pb.Extent
	for ; i < len(ext) && ext[i].GetOffset() < end; i++ {
		e := ext[i]
		out = append(out, Slice(e, max(e.GetOffset(), off), min(End(e), end)))
	}
	return out
}

// Coalesce joins neighbours that continue each other (inline data, or the
// same chunk at the next offset), so repeated merges of small writes do not
// fragment a layout without end.
func Coalesce(ext []*pb.Extent) []*pb.Extent {
	out := ext[:0:0]
	for _, e := range ext {
		if n := len(out); n > 0 && End(out[n-1]) == e.GetOffset() {
			p := out[n-1]
			switch {
			case p.GetChunk() == "" && e.GetChunk() == "":
				out[n-1] = &pb.Extent{Offset: p.GetOffset(), Length: p.GetLength() + e.GetLength(),
					Inline: append(slices.Clip(p.GetInline()), e.GetInline()...)}
				continue
			case p.GetChunk() != "" && p.GetChunk() == e.GetChunk() && p.GetChunkOffset()+p.GetLength() == e.GetChunkOffset():
				out[n-1] = &pb.Extent{Offset: p.GetOffset(), Length: p.GetLength() + e.GetLength(),
					Chunk: p.GetChunk(), ChunkOffset: p.GetChunkOffset()}
				continue
			}
		}
		out = append(out, e)
	}
	return out
}
