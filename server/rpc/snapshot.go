package rpc

import (
	"io"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
)

// snapshotChunkBytes is the data carried per stream message.
const snapshotChunkBytes = 1 << 20

// Snapshot streams a consistent copy of the shard's state for a backup. The
// digest in the first message is of the same point-in-time view the data
// comes from, so a restore can prove it reproduced the source exactly.
func (s *Server) Snapshot(req *pb.SnapshotRequest, stream pb.Cluster_SnapshotServer) error {
	if sh := req.GetShard(); sh != 0 && sh != shardID {
		return errnoStatus(pb.Errno_ENOENT, "no such shard")
	}
	v, err := s.cfg.Engine.View(shardID)
	if err != nil {
		return toStatus(err, "")
	}
	defer v.Close()
	digest, err := namespace.Digest(v)
	if err != nil {
		return toStatus(err, "")
	}
	first := &pb.SnapshotData{Index: v.Applied(), NamespaceDigest: digest[:], Node: s.cfg.Name}
	if err := stream.Send(first); err != nil {
		return err
	}
	w := &chunkWriter{send: func(b []byte) error { return stream.Send(&pb.SnapshotData{Data: b}) }}
	if err := v.WriteState(w); err != nil {
		return toStatus(err, "")
	}
	return w.flush()
}

// chunkWriter cuts a byte stream into messages of snapshotChunkBytes.
type chunkWriter struct {
	buf  []byte
	send func([]byte) error
}

var _ io.Writer = (*chunkWriter)(nil)

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), snapshotChunkBytes-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == snapshotChunkBytes {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.send(w.buf)
	w.buf = nil
	return err
}
