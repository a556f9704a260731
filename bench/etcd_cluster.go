package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// etcdCluster is the parent's view of the etcd child process.
type etcdCluster struct {
	endpoints []string // client URLs of the three members
	leader    string   // client URL of the leader, once known
	proc      *child
}

// startEtcd starts `self etcd-server` with data and log under dir.
func startEtcd(self, dir string) (*etcdCluster, error) {
	ports, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "etcd")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	var ps []string
	ec := &etcdCluster{}
	for i, p := range ports {
		ps = append(ps, strconv.Itoa(p))
		if i%2 == 0 {
			ec.endpoints = append(ec.endpoints, fmt.Sprintf("http://127.0.0.1:%d", p))
		}
	}
	ec.proc, err = startChild(dir, "etcd", self, etcdServerCmd, "--dir", data, "--ports", strings.Join(ps, ","))
	return ec, err
}

// newClient connects one benchmark client: to the leader alone when
// leaderOnly (writes then skip the forwarding hop, as geomds clients'
// mutations do), else to every member.
func (ec *etcdCluster) newClient(leaderOnly bool) (*clientv3.Client, error) {
	eps := ec.endpoints
	if leaderOnly && ec.leader != "" {
		eps = []string{ec.leader}
	}
	return clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
}

// waitLeader polls every member's status until all name the same leader,
// and remembers the leader's client URL.
func (ec *etcdCluster) waitLeader(ctx context.Context) error {
	c, err := ec.newClient(false)
	if err != nil {
		return err
	}
	defer c.Close()
	return poll(ctx, children{ec.proc}, 200*time.Millisecond, func(ctx context.Context) error {
		leader, err := ec.agreedLeader(ctx, c)
		ec.leader = leader
		return err
	})
}

func (ec *etcdCluster) agreedLeader(ctx context.Context, c *clientv3.Client) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ids := map[uint64]string{}
	var leader uint64
	for _, ep := range ec.endpoints {
		st, err := c.Status(ctx, ep)
		if err != nil {
			return "", err
		}
		if st.Leader == 0 || (leader != 0 && st.Leader != leader) {
			return "", fmt.Errorf("members do not agree on a leader yet")
		}
		leader = st.Leader
		ids[st.Header.MemberId] = ep
	}
	if ids[leader] == "" {
		return "", fmt.Errorf("leader %x is not a known member", leader)
	}
	return ids[leader], nil
}
