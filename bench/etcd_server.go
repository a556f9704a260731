package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// etcdServerCmd is the child role hosting the three etcd members.
const etcdServerCmd = "etcd-server"

// etcdReadyLine goes to the etcd child's log once every member is serving
// and knows a leader.
const etcdReadyLine = "etcd-server: ready"

// runEtcdServer runs three embedded etcd members in this process, with
// etcd's defaults (fsync on every WAL append), until ctx ends or a member
// fails.
func runEtcdServer(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet(etcdServerCmd, flag.ContinueOnError)
	dir := fs.String("dir", "", "data directory (one subdirectory per member)")
	ports := fs.String("ports", "", "client1,peer1,client2,peer2,client3,peer3 loopback ports")
	advertise := fs.String("advertise-peer-ports", "", "peer1,peer2,peer3 ports the members advertise to each other (default: the peer ports; set to put a proxy between them)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ps, err := parseInts(*ports)
	if err != nil || len(ps) != 6 || *dir == "" {
		return fmt.Errorf("%s: want --dir and six --ports", etcdServerCmd)
	}
	adv := []int{ps[1], ps[3], ps[5]}
	if *advertise != "" {
		if adv, err = parseInts(*advertise); err != nil || len(adv) != 3 {
			return fmt.Errorf("%s: want three --advertise-peer-ports", etcdServerCmd)
		}
	}
	members, err := startEtcdMembers(*dir, ps, adv)
	defer func() {
		for _, e := range members {
			e.Close()
		}
	}()
	if err != nil {
		return err
	}
	if err := waitEtcdReady(ctx, members); err != nil {
		return err
	}
	fmt.Println(etcdReadyLine)
	return serveEtcdUntil(ctx, members)
}

func startEtcdMembers(dir string, ports, advertise []int) ([]*embed.Etcd, error) {
	var initial []string
	for i := range 3 {
		initial = append(initial, fmt.Sprintf("e%d=http://127.0.0.1:%d", i+1, advertise[i]))
	}
	var members []*embed.Etcd
	for i := range 3 {
		cfg := etcdMemberConfig(dir, i, ports[2*i], ports[2*i+1], advertise[i], strings.Join(initial, ","))
		e, err := embed.StartEtcd(cfg)
		if err != nil {
			return members, fmt.Errorf("start etcd member %s: %w", cfg.Name, err)
		}
		members = append(members, e)
	}
	return members, nil
}

func etcdMemberConfig(dir string, i, clientPort, peerPort, advertisePort int, initial string) *embed.Config {
	cfg := embed.NewConfig()
	cfg.Name = fmt.Sprintf("e%d", i+1)
	cfg.Dir = filepath.Join(dir, cfg.Name)
	cu := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", clientPort)}
	pu := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", peerPort)}
	au := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", advertisePort)}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{au}
	cfg.InitialCluster = initial
	cfg.InitialClusterToken = "bench"
	cfg.ClusterState = embed.ClusterStateFlagNew
	cfg.Logger, cfg.LogLevel, cfg.LogOutputs = "zap", "warn", []string{"stderr"}
	return cfg
}

// waitEtcdReady waits until every member has published itself (which needs
// a quorum) and knows a leader.
func waitEtcdReady(ctx context.Context, members []*embed.Etcd) error {
	for _, e := range members {
		select {
		case <-e.Server.ReadyNotify():
		case err := <-e.Err():
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, e := range members {
		for e.Server.Leader() == 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// serveEtcdUntil blocks until ctx ends (nil) or a member stops (its error).
func serveEtcdUntil(ctx context.Context, members []*embed.Etcd) error {
	errc := make(chan error, len(members))
	for _, e := range members {
		go func() {
			select {
			case err := <-e.Err():
				errc <- fmt.Errorf("etcd member %s: %w", e.Config().Name, err)
			case <-e.Server.StopNotify():
				errc <- fmt.Errorf("etcd member %s stopped", e.Config().Name)
			case <-ctx.Done():
				errc <- nil
			}
		}()
	}
	return <-errc
}
