package client

import (
	"context"
	"fmt"
	"io"
	"log"
	"slices"
	"time"

	"github.com/geomds/geomds/chunkstore"
	"github.com/geomds/geomds/proto/chunksum"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Direct chunk I/O (Config.ChunkStore). A client that may open its own
// site's chunk store writes and reads chunks there itself, as the site's
// nodes do, instead of streaming them through a node: the bytes cross no
// network hop and no node spends CPU on them (JuiceFS clients and Ceph
// clients work this way with their object stores). The metadata records the
// same chunk either way. A direct read or write that fails is tried through
// the nodes.

// putDirect writes data as chunk id into the client's site store.
func (c *Client) putDirect(ctx context.Context, id string, data []byte) (*pb.ChunkRef, error) {
	st := c.cfg.ChunkStore
	ctx, cancel := context.WithTimeout(ctx, c.transferTimeout(len(data))) // a hung store is given up
	defer cancel()
	start := time.Now()
	sum, err := st.PutBytes(ctx, id, data)
	c.traceStore("ChunkPut", start, err)
	if err != nil {
		c.directFailed.Do(func() {
			log.Printf("geomds client: writing chunk %s to the %s chunk store failed, writing through the nodes instead: %v", id, st.Site(), err)
		})
		return nil, err
	}
	return &pb.ChunkRef{Id: id, Size: uint64(len(data)), Sum: sum, Sites: []string{st.Site()}}, nil
}

// getDirect reads [off, off+length) of ref from the client's site store,
// into dst when it is not nil, checking the size and, for a whole chunk,
// the record's sum. ok is false when the store is not configured or does
// not hold ref (by its record).
func (c *Client) getDirect(ctx context.Context, ref *pb.ChunkRef, off, length uint64, dst []byte) (data chunkData, ok bool, err error) {
	st := c.cfg.ChunkStore
	if st == nil || !slices.Contains(ref.GetSites(), st.Site()) {
		return nil, false, nil
	}
	// Bounded on its own, so that a hung store leaves time for the nodes.
	ctx, cancel := context.WithTimeout(ctx, c.transferTimeout(int(min(ref.GetSize(), maxChunkBytes))))
	defer cancel()
	start := time.Now()
	data, err = readStore(ctx, st, ref, off, length, dst)
	c.traceStore("ChunkGet", start, err)
	return data, true, err
}

func readStore(ctx context.Context, st *chunkstore.Store, ref *pb.ChunkRef, off, length uint64, dst []byte) (chunkData, error) {
	r, size, err := st.Get(ctx, ref.GetId(), off, length)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	want, err := readLength(ref, size, off, length, "store holds")
	if err != nil {
		return nil, err
	}
	buf := dst
	if uint64(len(buf)) < want {
		buf = make([]byte, want)
	}
	buf = buf[:want]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("chunk %s: %w", ref.GetId(), err)
	}
	if off == 0 && want == size {
		// A whole chunk is checked against the record's sum or, for a
		// record without one, the sum the store kept.
		sum := ref.GetSum()
		if len(sum) == 0 {
			if sum, err = st.RecordedSum(ctx, ref.GetId()); err != nil {
				return nil, err
			}
		}
		if len(sum) > 0 {
			if err := chunksum.Verify(buf, sum); err != nil {
				return nil, fmt.Errorf("chunk %s: %w", ref.GetId(), err)
			}
		}
	}
	return chunkData{buf}, nil
}

// traceStore reports a direct store access to Config.Explain.
func (c *Client) traceStore(method string, start time.Time, err error) {
	if c.cfg.Explain == nil {
		return
	}
	st := c.cfg.ChunkStore
	c.cfg.Explain(Trace{Method: method, Endpoint: "chunk store", Site: st.Site(), Duration: time.Since(start), Err: err})
}
