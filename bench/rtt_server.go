package main

import (
	"context"
	"flag"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// rttServerCmd is the child role that answers gRPC health checks: the
// cheapest possible RPC, served by another process, for the loopback
// round-trip probe.
const rttServerCmd = "rtt-server"

func runRTTServer(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet(rttServerCmd, flag.ContinueOnError)
	port := fs.Int("port", 0, "loopback port to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() {
		<-ctx.Done()
		srv.Stop()
	}()
	return srv.Serve(l)
}
