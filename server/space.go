package server

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// spaceInterval is how often a node measures its free space.
const spaceInterval = 2 * time.Second

// watchSpace measures the free space under the node's data dir and a
// file:// chunk store every spaceInterval and keeps the member registry's
// record of it current: low below Config.MinFreeSpace, and low until the
// free space is back above 1.5 times it, so that a node near the line does
// not flap. Every replica holds the same data, so their disks fill
// together; the registry lets every node refuse what would fill them
// further (rpc.Server's space check) before a full disk stops them all
// (a write the storage cannot make stops the node).
//
// With no reserve the node only measures (for the metric) and clears a
// record it left while it had one.
func (n *Node) watchSpace(ctx context.Context) {
	refused := false // the cluster's version cannot record it yet
	check := func() {
		free, err := n.freeSpace()
		if err != nil {
			n.log.Warn("free space check", "err", err)
			return
		}
		n.metrics.FreeBytes.Set(float64(free))
		m, ok := n.fsm.Member(n.id)
		if !ok {
			return
		}
		reserve := n.cfg.MinFreeSpace
		low := reserve > 0 && (free < reserve || m.GetLowSpace() && free < reserve/2*3)
		n.lowSpace.Store(low)
		if low == m.GetLowSpace() {
			return
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		res, err := n.proposeSystem(pctx, &pb.Command{Op: &pb.Command_ReportSpace{
			ReportSpace: &pb.ReportSpace{Node: n.id, Low: low, FreeBytes: free}}})
		switch {
		case res.GetErrno() == pb.Errno_ENOTSUP:
			if !refused {
				n.log.Warn("low-space report waits for every member to apply it", "low", low, "free", free)
			}
			refused = true
		case err != nil:
			n.log.Warn("low-space report", "low", low, "free", free, "err", err)
		case low:
			refused = false
			n.log.Warn("free space below the reserve: the cluster refuses new files and data until space is freed",
				"free", free, "reserve", n.cfg.MinFreeSpace)
		default:
			refused = false
			n.log.Info("free space back above the reserve", "free", free, "reserve", n.cfg.MinFreeSpace)
		}
	}
	check()
	every(ctx, spaceInterval, check)
}

// freeSpace is the least free space of the data dir's file system and a
// file:// chunk store's.
func (n *Node) freeSpace() (uint64, error) {
	measure := n.cfg.FreeSpace
	if measure == nil {
		measure = statfsFree
	}
	dirs := []string{n.cfg.DataDir}
	if d := n.chunks.Dir(); d != "" {
		dirs = append(dirs, d)
	}
	least := uint64(1<<64 - 1)
	for _, d := range dirs {
		free, err := measure(d)
		if err != nil {
			return 0, err
		}
		least = min(least, free)
	}
	return least, nil
}

func statfsFree(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Clean(dir), &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// chunkSpaceErr refuses a chunk upload while this node is low on space.
func (n *Node) chunkSpaceErr() error {
	if !n.lowSpace.Load() {
		return nil
	}
	return fmt.Errorf("node %s (site %s) is below its free-space reserve of %d bytes", n.cfg.Name, n.cfg.Site, n.cfg.MinFreeSpace)
}
