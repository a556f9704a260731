package transport

import (
	"errors"
	"fmt"
	"io"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// service is the receiving side: the Peer gRPC service.
type service struct {
	pb.UnimplementedPeerServer
	t *Transport
}

// Stream receives batches until the sender closes the stream, or until
// this transport closes (so a stopping node does not wait for its peers to
// hang up).
func (s *service) Stream(stream pb.Peer_StreamServer) error {
	errc := make(chan error, 1)
	go func() { errc <- s.receive(stream) }()
	select {
	case err := <-errc:
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&pb.PeerAck{})
		}
		return err
	case <-s.t.ctx.Done():
		return status.Error(codes.Unavailable, "transport closed")
	}
}

// receive steps every message of every batch until Recv fails (io.EOF when
// the sender closed the stream).
func (s *service) receive(stream pb.Peer_StreamServer) error {
	ctx := stream.Context()
	for {
		b, err := stream.Recv()
		if err != nil {
			return err
		}
		if b.GetTo() != s.t.cfg.NodeID {
			return status.Errorf(codes.FailedPrecondition, "batch for node %d reached node %d", b.GetTo(), s.t.cfg.NodeID)
		}
		for _, sm := range b.GetMessages() {
			m := &raftpb.Message{}
			if err := proto.Unmarshal(sm.GetMessage(), m); err != nil {
				return status.Errorf(codes.InvalidArgument, "message from node %d: %v", b.GetFrom(), err)
			}
			if err := s.t.cfg.Handler.Step(ctx, sm.GetShard(), m); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				s.t.log.Debug("step failed", "shard", sm.GetShard(), "from", b.GetFrom(), "err", err)
			}
		}
	}
}

// Snapshot receives one MsgSnap and its state stream.
func (s *service) Snapshot(stream pb.Peer_SnapshotServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	m := &raftpb.Message{}
	if err := proto.Unmarshal(first.GetMessage(), m); err != nil {
		return status.Errorf(codes.InvalidArgument, "snapshot message: %v", err)
	}
	if m.GetTo() != s.t.cfg.NodeID {
		// As for batches: a sender that addresses another node ID (a member
		// of an older cluster at a reused address) is refused.
		return status.Errorf(codes.FailedPrecondition, "snapshot for node %d reached node %d", m.GetTo(), s.t.cfg.NodeID)
	}
	pr, pw := io.Pipe()
	pumped := make(chan struct{})
	go func() {
		defer close(pumped)
		pump(stream, first, pw)
	}()
	err = s.t.cfg.Handler.StepSnapshot(stream.Context(), first.GetShard(), m, pr)
	pr.CloseWithError(errors.New("snapshot already handled"))
	<-pumped // Recv must not outlive the handler
	if err != nil {
		return status.Errorf(codes.Unavailable, "step snapshot: %v", err)
	}
	return stream.SendAndClose(&pb.PeerAck{})
}

// pump copies chunk data into w until the last chunk. If the reader side
// stops early it keeps receiving (and discarding) to the end, so the
// handler never returns while Recv is in use.
func pump(stream pb.Peer_SnapshotServer, c *pb.SnapshotChunk, w *io.PipeWriter) {
	writing := true
	for {
		if writing && len(c.GetData()) > 0 {
			if _, err := w.Write(c.GetData()); err != nil {
				writing = false
			}
		}
		if c.GetLast() {
			w.Close()
			return
		}
		var err error
		if c, err = stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			w.CloseWithError(fmt.Errorf("snapshot stream: %w", err))
			return
		}
	}
}
