package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// wanEtcd is the 3-member etcd cluster of B6, member i at clusterSites[i],
// with the same emulated round trips as geomds: every member's peer port
// is behind a delay proxy that tells the calling member's site from the
// X-PeerURLs header etcd's peer transport sends, and each client site
// reaches each other site's member through a delay proxy of its own.
type wanEtcd struct {
	*etcdCluster                     // endpoints: direct client URLs, for administration
	proxies      []*delayProxy       // closed after the members stop
	clientURL    map[string][]string // client site → URL of member i as seen from there
	identified   atomic.Int64        // peer connections whose caller was recognised
	mu           sync.Mutex
	unidentified map[string]int // request line → peer connections delayed by the worst case instead
}

// startWANEtcd starts the proxies, then `self etcd-server` advertising the
// proxies' peer addresses.
func startWANEtcd(self, dir string, rtt rttMatrix) (*wanEtcd, error) {
	ports, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	we := &wanEtcd{etcdCluster: &etcdCluster{}, clientURL: map[string][]string{}, unidentified: map[string]int{}}
	adv, err := we.startPeerProxies(ports, rtt)
	if err != nil {
		we.closeProxies()
		return nil, err
	}
	if err := we.startClientProxies(ports, rtt); err != nil {
		we.closeProxies()
		return nil, err
	}
	data := filepath.Join(dir, "etcd")
	if err := os.MkdirAll(data, 0o755); err != nil {
		we.closeProxies()
		return nil, err
	}
	var ps []string
	for _, p := range ports {
		ps = append(ps, strconv.Itoa(p))
	}
	we.proc, err = startChild(dir, "etcd", self, etcdServerCmd, "--dir", data,
		"--ports", strings.Join(ps, ","), "--advertise-peer-ports", strings.Join(adv, ","))
	return we, err
}

// startPeerProxies puts a sniffing delay proxy before each member's peer
// port and returns the proxies' ports, for the members to advertise.
func (we *wanEtcd) startPeerProxies(ports []int, rtt rttMatrix) ([]string, error) {
	var ls []net.Listener
	siteOf := map[string]string{} // proxy host:port → the site of the member behind it
	for _, site := range clusterSites {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, err
		}
		ls = append(ls, l)
		siteOf[l.Addr().String()] = site
	}
	var adv []string
	for i, site := range clusterSites {
		target := fmt.Sprintf("127.0.0.1:%d", ports[2*i+1])
		we.proxies = append(we.proxies, serveDelayProxy(ls[i], target, true, we.peerDelay(site, siteOf, rtt)))
		adv = append(adv, strconv.Itoa(ls[i].Addr().(*net.TCPAddr).Port))
	}
	return adv, nil
}

// peerDelay is the one-way delay of a peer connection to the member at
// site: half the round trip from the caller's site, or, for a request that
// does not say who sent it, half the largest round trip from site.
func (we *wanEtcd) peerDelay(site string, siteOf map[string]string, rtt rttMatrix) func([]byte) time.Duration {
	return func(head []byte) time.Duration {
		if from := callerSite(head, siteOf); from != "" {
			we.identified.Add(1)
			return rtt.between(from, site) / 2
		}
		line, _, _ := bytes.Cut(head, []byte("\r\n"))
		we.mu.Lock()
		we.unidentified[requestKind(string(line))]++
		we.mu.Unlock()
		return rtt.farthest(site, clusterSites) / 2
	}
}

// requestKind is a request line without the HTTP version and the member
// IDs, to count requests by kind.
func requestKind(line string) string {
	f := strings.Fields(line)
	if len(f) < 2 {
		return "(no request line)"
	}
	path, _, _ := strings.Cut(f[1], "?")
	parts := strings.Split(path, "/")
	if len(parts) > 3 {
		parts = parts[:3] // /raft/stream/msgappv2/ID → /raft/stream
	}
	return f[0] + " " + strings.Join(parts, "/")
}

// unidentifiedSummary lists the peer requests delayed by the worst case.
func (we *wanEtcd) unidentifiedSummary() string {
	we.mu.Lock()
	defer we.mu.Unlock()
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(we.unidentified)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, we.unidentified[k]))
	}
	return strings.Join(parts, ", ")
}

// callerSite finds the X-PeerURLs header in an HTTP request head and maps
// the first advertised peer URL it knows to its site.
func callerSite(head []byte, siteOf map[string]string) string {
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok || !strings.EqualFold(string(bytes.TrimSpace(k)), "X-PeerURLs") {
			continue
		}
		for _, raw := range strings.Split(string(v), ",") {
			if u, err := url.Parse(strings.TrimSpace(raw)); err == nil && siteOf[u.Host] != "" {
				return siteOf[u.Host]
			}
		}
	}
	return ""
}

// startClientProxies gives every client site a URL for every member: the
// member itself at the same site, else a proxy delaying by half their RTT.
func (we *wanEtcd) startClientProxies(ports []int, rtt rttMatrix) error {
	for i, member := range clusterSites {
		direct := fmt.Sprintf("127.0.0.1:%d", ports[2*i])
		we.endpoints = append(we.endpoints, "http://"+direct)
		for _, site := range clusterSites {
			if site == member {
				we.clientURL[site] = append(we.clientURL[site], "http://"+direct)
				continue
			}
			p, err := newDelayProxy(direct, rtt.between(site, member)/2)
			if err != nil {
				return err
			}
			we.proxies = append(we.proxies, p)
			we.clientURL[site] = append(we.clientURL[site], "http://"+p.addr())
		}
	}
	return nil
}

func (we *wanEtcd) closeProxies() {
	for _, p := range we.proxies {
		p.close()
	}
}

// siteClient is a client at site talking to one member: the member at its
// own site, or (toLeader) member 0, the home site's, through the emulated
// WAN. One endpoint, because clientv3 spreads calls over all it is given.
func (we *wanEtcd) siteClient(site string, toLeader bool) (*clientv3.Client, error) {
	i := slices.Index(clusterSites, site)
	if toLeader {
		i = 0
	}
	return clientv3.New(clientv3.Config{Endpoints: []string{we.clientURL[site][i]},
		DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
}

// moveLeaderTo makes member i the leader (MoveLeader, sent to the current
// leader) and waits until every member agrees.
func (ec *etcdCluster) moveLeaderTo(ctx context.Context, i int) error {
	want := ec.endpoints[i]
	if err := ec.waitLeader(ctx); err != nil {
		return err
	}
	if ec.leader == want {
		return nil
	}
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{ec.leader}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer c.Close()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := c.Status(cctx, want)
	if err != nil {
		return err
	}
	if _, err := c.MoveLeader(cctx, st.Header.MemberId); err != nil {
		return fmt.Errorf("etcd move-leader to %s: %w", want, err)
	}
	return poll(cctx, children{ec.proc}, 100*time.Millisecond, func(ctx context.Context) error {
		if err := ec.waitLeader(ctx); err != nil {
			return err
		}
		if ec.leader != want {
			return fmt.Errorf("etcd leader is %s, not %s yet", ec.leader, want)
		}
		return nil
	})
}
