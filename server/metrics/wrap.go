package metrics

import (
	"context"
	"io"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/geomds/geomds/server/replica"
)

// LogStore times synced saves of the replica's log store.
type LogStore struct {
	replica.LogStore
	M *Metrics
}

func (l LogStore) Save(hs *raftpb.HardState, ents []*raftpb.Entry, sync bool) error {
	if !sync {
		return l.LogStore.Save(hs, ents, sync)
	}
	t0 := time.Now()
	err := l.LogStore.Save(hs, ents, sync)
	Since(l.M.FsyncSeconds, t0)
	return err
}

// StateMachine times apply batches.
type StateMachine struct {
	replica.StateMachine
	M *Metrics
}

func (s StateMachine) Apply(ctx context.Context, entries []replica.Entry) ([]any, error) {
	t0 := time.Now()
	out, err := s.StateMachine.Apply(ctx, entries)
	Since(s.M.ApplySeconds, t0)
	s.M.ApplyEntries.Add(float64(len(entries)))
	return out, err
}

func clientSite(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if s := md.Get("geomds-site"); len(s) > 0 && len(s[0]) <= 64 {
		return s[0]
	}
	return "unknown"
}

// UnaryInterceptor records each call's latency by method and client site.
func (m *Metrics) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	t0 := time.Now()
	out, err := h(ctx, req)
	m.RPCSeconds.WithLabelValues(info.FullMethod, clientSite(ctx), status.Code(err).String()).Observe(time.Since(t0).Seconds())
	return out, err
}

// StreamInterceptor records stream latency and counts chunk bytes.
func (m *Metrics) StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	t0 := time.Now()
	site := clientSite(ss.Context())
	err := h(srv, &countingStream{ServerStream: ss, m: m, site: site, method: info.FullMethod})
	m.RPCSeconds.WithLabelValues(info.FullMethod, site, status.Code(err).String()).Observe(time.Since(t0).Seconds())
	return err
}

// chunkData is what chunk messages share: their payload.
type chunkData interface{ GetData() []byte }

type countingStream struct {
	grpc.ServerStream
	m            *Metrics
	site, method string
}

const chunksService = "/geomds.Chunks/"

func (s *countingStream) SendMsg(msg any) error {
	if d, ok := msg.(chunkData); ok && len(s.method) > len(chunksService) && s.method[:len(chunksService)] == chunksService {
		s.m.ChunkBytes.WithLabelValues("read", s.site).Add(float64(len(d.GetData())))
	}
	return s.ServerStream.SendMsg(msg)
}

func (s *countingStream) RecvMsg(msg any) error {
	err := s.ServerStream.RecvMsg(msg)
	if err == nil {
		if d, ok := msg.(chunkData); ok && len(s.method) > len(chunksService) && s.method[:len(chunksService)] == chunksService {
			s.m.ChunkBytes.WithLabelValues("written", s.site).Add(float64(len(d.GetData())))
		}
	}
	return err
}

// SnapshotWriter counts state snapshots streamed to followers.
func (m *Metrics) SnapshotWriter(write func(w io.Writer) error) func(w io.Writer) error {
	return func(w io.Writer) error {
		err := write(w)
		result := "ok"
		if err != nil {
			result = "failed"
		}
		m.SnapshotsSent.WithLabelValues(result).Inc()
		return err
	}
}
