package main

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcdOpTimeout bounds one etcd call, as client.Config.RequestTimeout
// bounds one geomds call.
const etcdOpTimeout = 30 * time.Second

// etcdSystem drives the etcd cluster with puts and linearizable gets of
// distinct keys, one clientv3.Client (own connection) per benchmark client,
// or one for all of them when shared.
// Values are empty: the peer does the least work a create could need.
type etcdSystem struct {
	cluster    *etcdCluster
	leaderOnly bool
	shared     bool
}

type etcdSession struct {
	tag     string
	clients []*clientv3.Client
}

var _ system = etcdSystem{}

func (etcdSystem) name() string { return "etcd" }

func (s etcdSystem) pids() []int { return children{s.cluster.proc}.pids() }

func (s etcdSystem) open(ctx context.Context, tag string, n int) (session, error) {
	es := &etcdSession{tag: tag, clients: make([]*clientv3.Client, n)}
	for w := range n {
		if s.shared && w > 0 {
			es.clients[w] = es.clients[0]
			continue
		}
		c, err := s.cluster.newClient(s.leaderOnly)
		if err != nil {
			es.close()
			return nil, err
		}
		es.clients[w] = c
	}
	// One untimed read per client sets its connection up, as the geomds
	// clients' MkdirAll does.
	err := forEach(n, func(w int) error {
		ctx, cancel := context.WithTimeout(ctx, etcdOpTimeout)
		defer cancel()
		_, err := es.clients[w].Get(ctx, workerDir(tag, w))
		return err
	})
	if err != nil {
		es.close()
		return nil, err
	}
	return es, nil
}

func (es *etcdSession) create(ctx context.Context, w, j int) error {
	ctx, cancel := context.WithTimeout(ctx, etcdOpTimeout)
	defer cancel()
	_, err := es.clients[w].Put(ctx, entryPath(es.tag, w, j), "")
	return err
}

// stat is a linearizable get (etcd's default); a missing key is an error,
// as ENOENT is for geomds.
func (es *etcdSession) stat(ctx context.Context, w, j int) error {
	ctx, cancel := context.WithTimeout(ctx, etcdOpTimeout)
	defer cancel()
	key := entryPath(es.tag, w, j)
	resp, err := es.clients[w].Get(ctx, key)
	if err == nil && resp.Count == 0 {
		err = fmt.Errorf("get %s: no such key", key)
	}
	return err
}

func (es *etcdSession) close() {
	for w, c := range es.clients {
		if c != nil && (w == 0 || c != es.clients[0]) {
			c.Close() //nolint:errcheck // the level is over
		}
	}
}
