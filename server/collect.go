package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/geomds/geomds/chunkstore"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/chunk"
	"github.com/geomds/geomds/server/namespace"
)

// collectInterval is the pause between chunk collection passes.
const collectInterval = 5 * time.Second

// collectChunks runs the chunk garbage collector; it works while this node
// leads (the queue looks empty elsewhere): chunks no file references any
// more are deleted at every site that holds them, then DropChunks forgets
// them (the namespace never lets a queued chunk be referenced again, so
// nothing is deleted while referenced).
func (n *Node) collectChunks(ctx context.Context) {
	c := &chunk.Collector{Pending: n.pendingChunks, Delete: n.deleteChunk, Confirm: n.confirmChunks,
		Interval: collectInterval, Logger: n.log}
	c.Run(ctx)
}

// pendingChunks is the collector's view of the deletion queue: the
// leader's, and nothing on other nodes.
func (n *Node) pendingChunks(_ context.Context, after string, limit int) ([]*pb.ChunkRef, error) {
	if !n.IsLeader() {
		return nil, nil
	}
	v, err := n.eng.View(shardID)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	return namespace.PendingChunkDeletes(v, after, limit)
}

// deleteChunk deletes at this node's own site directly, elsewhere through
// a node of that site.
func (n *Node) deleteChunk(ctx context.Context, site, id string) error {
	if site == n.cfg.Site {
		return n.chunks.Delete(ctx, id)
	}
	err := n.atSite(ctx, site, func(ctx context.Context, cc *grpc.ClientConn) error {
		return chunk.DeleteRemote(ctx, cc, id)
	})
	if err != nil {
		return fmt.Errorf("no node of site %s deleted chunk %s: %w", site, id, err)
	}
	return nil
}

// relayChunk reads a range of a chunk this site's store lacks from a node
// at one of sites, for a client that reached this node only (the chunk
// service's Relay).
func (n *Node) relayChunk(ctx context.Context, sites []string, id string, off, length uint64) ([]byte, uint64, error) {
	var errs []error
	for _, site := range sites {
		var data []byte
		var size uint64
		err := n.atSite(ctx, site, func(ctx context.Context, cc *grpc.ClientConn) (err error) {
			data, size, err = chunk.GetRemote(ctx, cc, id, off, length)
			return err
		})
		if err == nil {
			return data, size, nil
		}
		errs = append(errs, err)
	}
	return nil, 0, fmt.Errorf("relay of chunk %s from %v: %w", id, sites, errors.Join(errs...))
}

// atSite runs f with the connection to each member at site in turn until one
// succeeds, declaring this node's site as the caller's (so emulated WAN
// delays and cuts apply); it returns the failures joined, or ErrNotFound
// when no member is at site.
func (n *Node) atSite(ctx context.Context, site string, f func(context.Context, *grpc.ClientConn) error) error {
	ctx = metadata.AppendToOutgoingContext(ctx, siteKey, n.cfg.Site)
	var errs []error
	for _, m := range n.fsm.Members() {
		if m.Site != site || m.Id == n.id {
			continue
		}
		cc, err := n.peers.get(m.Address)
		if err == nil {
			err = f(ctx, cc)
		}
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", m.Name, err))
	}
	if len(errs) == 0 {
		return fmt.Errorf("no member at site %s: %w", site, chunkstore.ErrNotFound)
	}
	return errors.Join(errs...)
}

func (n *Node) confirmChunks(ctx context.Context, ids []string) error {
	_, err := n.proposeSystem(ctx, &pb.Command{Op: &pb.Command_DropChunks{DropChunks: &pb.DropChunks{Ids: ids}}})
	return err
}

// sweeper finds this site's chunks that no metadata names (uploads never
// committed) and proposes them for deletion; see chunk.Sweeper. Every node
// sweeps its own site's store: proposals of nodes sharing a store repeat
// each other harmlessly.
func (n *Node) sweeper(grace time.Duration) *chunk.Sweeper {
	return &chunk.Sweeper{List: n.chunks.List, Unknown: n.unknownChunks, Sweep: n.proposeSweep,
		Tidy: n.chunks.RemoveStaleTemp, Grace: grace, Interval: n.cfg.ChunkSweepInterval, Logger: n.log}
}

// SweepChunks makes one sweep of this node's site store now, sparing
// chunks modified less than grace ago (0 = the default).
func (n *Node) SweepChunks(ctx context.Context, grace time.Duration) (chunk.SweepResult, error) {
	return n.sweeper(grace).RunOnce(ctx)
}

// unknownChunks filters ids by this replica's metadata.
func (n *Node) unknownChunks(_ context.Context, ids []string) ([]string, error) {
	v, err := n.eng.View(shardID)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	return namespace.UnknownChunks(v, ids)
}

// proposeSweep proposes SweepChunks; while a member runs a version without
// it (ENOTSUP) nothing is swept.
func (n *Node) proposeSweep(ctx context.Context, ids []string) (int, error) {
	res, err := n.proposeSystem(ctx, &pb.Command{Op: &pb.Command_SweepChunks{SweepChunks: &pb.SweepChunks{Site: n.cfg.Site, Ids: ids}}})
	if res.GetErrno() == pb.Errno_ENOTSUP {
		n.log.Info("chunk sweep waits for every member to apply it", "detail", res.GetDetail())
		return 0, nil
	}
	return int(res.GetCount()), err
}

// proposeSystem proposes cmd, an op of the system's own (root, no client
// session), stamped with the shard and the time, and returns its result; a
// refused command is an error.
func (n *Node) proposeSystem(ctx context.Context, cmd *pb.Command) (*pb.Result, error) {
	cmd.Shard, cmd.TimeNs = shardID, time.Now().UnixNano()
	data, err := proto.Marshal(cmd)
	if err != nil {
		return nil, err
	}
	out, _, err := n.rep.Propose(ctx, data)
	if err != nil {
		return nil, err
	}
	res, _ := out.(*pb.Result)
	if res == nil || res.Errno != pb.Errno_OK {
		return res, fmt.Errorf("%T refused: %v", cmd.GetOp(), res)
	}
	return res, nil
}
