package server

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/chunk"
	"github.com/geomds/geomds/server/namespace"
)

// collectInterval is the pause between chunk collection passes.
const collectInterval = 5 * time.Second

// collectChunks runs the chunk garbage collector while this node leads:
// chunks no file references any more are deleted at every site that holds
// them, then DropChunks forgets them (the namespace never lets a queued
// chunk be referenced again, so nothing is deleted while referenced).
func (n *Node) collectChunks(ctx context.Context) {
	c := &chunk.Collector{Pending: n.pendingChunks, Delete: n.deleteChunk, Confirm: n.confirmChunks, Logger: n.log}
	t := time.NewTicker(collectInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !n.IsLeader() {
			continue
		}
		if k, err := c.RunOnce(ctx); err != nil {
			n.log.Warn("chunk collection", "err", err)
		} else if k > 0 {
			n.log.Info("chunks collected", "count", k)
		}
	}
}

func (n *Node) pendingChunks(_ context.Context, after string, limit int) ([]*pb.ChunkRef, error) {
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
	for _, m := range n.fsm.Members() {
		if m.Site != site {
			continue
		}
		cc, err := grpc.NewClient(m.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			continue
		}
		err = chunk.DeleteRemote(ctx, cc, id)
		cc.Close()
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("no node of site %s deleted chunk %s", site, id)
}

func (n *Node) confirmChunks(ctx context.Context, ids []string) error {
	data, err := proto.Marshal(&pb.Command{Shard: shardID, TimeNs: time.Now().UnixNano(),
		Op: &pb.Command_DropChunks{DropChunks: &pb.DropChunks{Ids: ids}}})
	if err != nil {
		return err
	}
	out, _, err := n.rep.Propose(ctx, data)
	if err != nil {
		return err
	}
	if res, _ := out.(*pb.Result); res == nil || res.Errno != pb.Errno_OK {
		return fmt.Errorf("drop chunks: %v", res)
	}
	return nil
}
