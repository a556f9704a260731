package client

import (
	"bytes"
	"context"

	"github.com/geomds/geomds/chunkstore"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// putChunk uploads data as a new chunk through the nearest node (the
// client's own site first) and returns its record, naming the site that
// stored it.
func (c *Client) putChunk(ctx context.Context, data []byte) (*pb.ChunkRef, error) {
	return c.putChunkAs(ctx, chunkstore.NewID(), data)
}

// getChunk reads [off, off+length) of the chunk ref (length 0 = to the
// end) from the nearest site that holds it, as one slice.
func (c *Client) getChunk(ctx context.Context, ref *pb.ChunkRef, off, length uint64) ([]byte, error) {
	data, err := c.getChunkData(ctx, ref, off, length, nil)
	return data.join(), err
}

// join returns d as one slice (nil for no bytes).
func (d chunkData) join() []byte {
	switch len(d) {
	case 0:
		return nil
	case 1:
		return d[0]
	}
	return bytes.Join(d, nil)
}
