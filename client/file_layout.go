package client

import (
	"cmp"
	"slices"

	"github.com/geomds/geomds/proto/extents"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// A file's contents as a File sees them: the layout (proto/extents) with
// the unsynced writes (segments) over it.

// span is a file range [off, end).
type span struct{ off, end int64 }

// spans are the ranges a writer wrote since its last commit: ordered,
// disjoint and not touching.
type spans []span

// add merges [off, end) into s.
func (s spans) add(off, end int64) spans {
	i, _ := slices.BinarySearchFunc(s, off, func(g span, off int64) int { return cmp.Compare(g.end, off) })
	j := i
	for j < len(s) && s[j].off <= end {
		off, end = min(off, s[j].off), max(end, s[j].end)
		j++
	}
	return slices.Replace(s, i, j, span{off, end})
}

// cut drops what lies at or past size.
func (s spans) cut(size int64) spans {
	out := s[:0]
	for _, g := range s {
		if g.off < size {
			out = append(out, span{g.off, min(g.end, size)})
		}
	}
	return out
}

// within returns the parts of ext inside s, in order: a merging commit's
// writes (SetLayout.merge).
func (s spans) within(ext []*pb.Extent) []*pb.Extent {
	var out []*pb.Extent
	for _, g := range s {
		out = append(out, extents.Overlapping(ext, uint64(g.off), uint64(g.end))...)
	}
	return out
}

// chunkIDsOf returns the set of chunks ext references.
func chunkIDsOf(ext []*pb.Extent) map[string]bool {
	ids := make(map[string]bool)
	for _, e := range ext {
		if e.GetChunk() != "" {
			ids[e.GetChunk()] = true
		}
	}
	return ids
}

// segment is a run of unsynced bytes at file offset off.
type segment struct {
	off  int64
	data []byte
}

func (s segment) end() int64 { return s.off + int64(len(s.data)) }

// segments are the unsynced writes of a file: ordered, disjoint and not
// touching (neighbours merge).
type segments []segment

// write merges p at off into s.
func (s segments) write(p []byte, off int64) segments {
	end := off + int64(len(p))
	// [i, j) are the segments that overlap or touch [off, end].
	i, _ := slices.BinarySearchFunc(s, off, func(g segment, off int64) int {
		if g.end() < off {
			return -1
		}
		return 1
	})
	j := i
	for j < len(s) && s[j].off <= end {
		j++
	}
	if i == j {
		return slices.Insert(s, i, segment{off: off, data: slices.Clone(p)})
	}
	start, stop := min(s[i].off, off), max(s[j-1].end(), end)
	merged := s[i]
	if merged.off != start || j-i > 1 {
		merged = segment{off: start, data: make([]byte, stop-start)}
		for _, g := range s[i:j] {
			copy(merged.data[g.off-start:], g.data)
		}
	} else if grow := stop - merged.end(); grow > 0 {
		merged.data = append(merged.data, make([]byte, grow)...)
	}
	copy(merged.data[off-start:], p)
	s[i] = merged
	return slices.Delete(s, i+1, j)
}

// cut drops everything at or after size.
func (s segments) cut(size int64) segments {
	for i := len(s) - 1; i >= 0; i-- {
		switch {
		case s[i].off >= size:
			s = s[:i]
		case s[i].end() > size:
			s[i].data = s[i].data[:size-s[i].off]
			return s
		default:
			return s
		}
	}
	return s
}

// bytes is the number of unsynced bytes in s.
func (s segments) bytes() int {
	n := 0
	for _, g := range s {
		n += len(g.data)
	}
	return n
}

// punchSegments returns ext (already cut to [off, end)) without the ranges
// the segments cover, since those read from memory.
func punchSegments(ext []*pb.Extent, s segments, off, end int64) []*pb.Extent {
	for _, g := range s {
		if g.end() > off && g.off < end {
			ext = extents.Punch(ext, uint64(g.off), uint64(g.end()))
		}
	}
	return ext
}
