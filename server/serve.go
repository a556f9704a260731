package server

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/chunk"
	"github.com/geomds/geomds/server/rpc"
)

func (n *Node) serve() {
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.grpc = grpc.NewServer(
		grpc.MaxRecvMsgSize(maxMessageBytes),
		grpc.MaxSendMsgSize(maxMessageBytes),
		// Clients ping after 30 s of silence during a call; allow it.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.ChainUnaryInterceptor(n.metrics.UnaryInterceptor, n.clientLinkUnary, serverTime),
		grpc.ChainStreamInterceptor(n.metrics.StreamInterceptor, n.clientLinkStream),
	)
	n.rpc = rpc.New(rpc.Config{
		Name: n.cfg.Name, Site: n.cfg.Site, NodeID: n.id,
		Shard: measuredShard{n.rep, n.metrics}, FSM: n.fsm, Engine: n.eng,
		Forward: n.forwardStatus, NoQuorumAfter: n.cfg.NoQuorumAfter, PeerRTT: n.rtts.snapshot,
	})
	pb.RegisterNamespaceServer(n.grpc, n.rpc)
	pb.RegisterClusterServer(n.grpc, n.rpc)
	n.tr.Register(n.grpc)
	chunks := chunk.NewService(n.chunks)
	chunks.Relay = n.relayChunk
	chunks.Refuse = n.chunkSpaceErr
	chunks.Register(n.grpc)
	n.health = health.NewServer()
	healthpb.RegisterHealthServer(n.grpc, n.health)
	reflection.Register(n.grpc)

	n.wg.Add(2)
	go func() {
		defer n.wg.Done()
		if err := n.grpc.Serve(n.lis); err != nil {
			n.log.Warn("grpc server ended", "err", err)
		}
	}()
	go func() {
		defer n.wg.Done()
		err := n.rep.Run(ctx)
		if ctx.Err() == nil {
			// Fail-stop: the replica could not persist or apply. Stop
			// serving rather than answer from a state that may be wrong.
			n.log.Error("replica stopped; node stops", "err", err)
			n.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
			n.err = err
			go n.Stop()
		}
	}()
	// The node's background loops; each returns when ctx ends.
	for _, loop := range []func(context.Context){
		n.placement, n.observe, n.collectChunks, n.reportVersion, n.expireSessions, n.watchSpace, n.probePeers,
	} {
		n.wg.Go(func() { loop(ctx) })
	}
	if n.cfg.ChunkSweepGrace >= 0 {
		n.wg.Go(func() { n.sweeper(n.cfg.ChunkSweepGrace).Run(ctx) })
	}
	n.serveMetrics()
	n.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	n.health.SetServingStatus(namespaceService, healthpb.HealthCheckResponse_SERVING)
	n.log.Info("serving", "id", n.id, "site", n.cfg.Site, "listen", n.lis.Addr().String())
}

// forwardStatus asks another node for its own status.
func (n *Node) forwardStatus(ctx context.Context, addr string, req *pb.StatusRequest) (*pb.StatusReply, error) {
	cc, err := n.peers.get(addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return pb.NewClusterClient(cc).Status(ctx, req)
}

// clientLink emulates the WAN between the client's declared site and this
// node: the delay is half the round trip, spent before the handler and
// again after it (each call waits on its own, so concurrent calls overlap
// as they would on a WAN). While the two sites are cut apart the call is
// refused as Unavailable, which clients retry at another node, as they
// would after a connection failure.
func (n *Node) clientLink(ctx context.Context) (time.Duration, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	sites := md.Get(siteKey)
	if len(sites) == 0 {
		return 0, nil
	}
	if n.cfg.WAN.IsCut(sites[0], n.cfg.Site) {
		return 0, status.Errorf(codes.Unavailable, "emulated partition between sites %s and %s", sites[0], n.cfg.Site)
	}
	return n.cfg.WAN.Between(sites[0], n.cfg.Site) / 2, nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (n *Node) clientLinkUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	d, err := n.clientLink(ctx)
	if err != nil {
		return nil, err
	}
	sleepCtx(ctx, d)
	out, err := h(ctx, req)
	sleepCtx(ctx, d)
	return out, err
}

func (n *Node) clientLinkStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	d, err := n.clientLink(ss.Context())
	if err != nil {
		return err
	}
	sleepCtx(ss.Context(), d)
	err = h(srv, ss)
	sleepCtx(ss.Context(), d)
	return err
}

// Addr is the address the node listens on.
func (n *Node) Addr() string { return n.lis.Addr().String() }

// ID is the node's Raft ID.
func (n *Node) ID() uint64 { return n.id }

// Done is closed when the node has stopped; Err says why.
func (n *Node) Done() <-chan struct{} { return n.done }

// Err is the fail-stop error, if the node stopped on one.
func (n *Node) Err() error {
	select {
	case <-n.done:
		return n.err
	default:
		return nil
	}
}

// Stop stops serving and closes the node's stores.
func (n *Node) Stop() {
	n.stopOnce.Do(func() {
		n.health.Shutdown()
		// Stop the replica first: calls waiting on it fail at once (clients
		// retry elsewhere), and peer streams end with the transport, so the
		// graceful stop below does not wait for peers to hang up.
		n.cancel()
		n.tr.Close()
		stopped := make(chan struct{})
		go func() { n.grpc.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(2 * time.Second):
			n.grpc.Stop()
		}
		if n.httpSrv != nil {
			n.httpSrv.Close()
		}
		n.wg.Wait()
		n.peers.close()
		n.closeStores()
		close(n.done)
	})
}

func (n *Node) closeStores() {
	if n.chunks != nil {
		n.chunks.Close()
	}
	if n.eng != nil {
		if err := n.eng.Close(); err != nil {
			n.log.Warn("close storage", "err", err)
		}
	}
	if n.lis != nil {
		n.lis.Close()
	}
	if n.metricsLis != nil && n.httpSrv == nil {
		n.metricsLis.Close()
	}
}

// IsLeader says whether this node leads shard 1.
func (n *Node) IsLeader() bool { return n.rep.Leader() == n.id }

// replyWithMeta is every reply that says who served it.
type replyWithMeta interface{ GetMeta() *pb.ReplyMeta }

// serverTime records the handler's own time in the reply's meta (inside
// the emulated client delay, so it excludes the client–node transport).
func serverTime(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	t0 := time.Now()
	out, err := h(ctx, req)
	if r, ok := out.(replyWithMeta); ok && r.GetMeta() != nil {
		r.GetMeta().ServerNs = int64(time.Since(t0))
	}
	return out, err
}
