package rpc

import (
	"fmt"
	"strings"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// spaceErr refuses, with ENOSPC, a command that adds metadata while a
// member is below its free-space reserve (the member registry records it:
// ReportSpace). Every replica holds the same data, so a full disk at any
// of them stops it; removals, renames, attribute changes, opens and
// closes go on, so users can free space through the file system itself.
// A command proposed just before the report still applies.
func (s *Server) spaceErr(cmd *pb.Command) error {
	if !addsMetadata(cmd) {
		return nil
	}
	low := s.cfg.FSM.LowSpace()
	if len(low) == 0 {
		return nil
	}
	names := make([]string, len(low))
	for i, m := range low {
		names[i] = fmt.Sprintf("%s (site %s, %d MiB free)", m.GetName(), m.GetSite(), m.GetFreeBytes()>>20)
	}
	return errnoStatus(pb.Errno_ENOSPC, fmt.Sprintf("%s: ENOSPC: no space: %s below the free-space reserve; remove files to free space",
		opName(cmd), strings.Join(names, ", ")))
}

// addsMetadata: the commands that create entries or store data (a file
// commit with new chunks or inline bytes).
func addsMetadata(cmd *pb.Command) bool {
	switch op := cmd.GetOp().(type) {
	case *pb.Command_Mkdir, *pb.Command_MkdirAll, *pb.Command_Mknod, *pb.Command_Symlink,
		*pb.Command_Link, *pb.Command_SetXattr:
		return true
	case *pb.Command_SetLayout:
		if len(op.SetLayout.GetNewChunks()) > 0 {
			return true
		}
		for _, e := range op.SetLayout.GetExtents() {
			if len(e.GetInline()) > 0 {
				return true
			}
		}
	}
	return false
}
