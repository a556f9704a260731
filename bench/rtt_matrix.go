package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/geomds/geomds/server"
)

// rttMatrix is the emulated round trip between pairs of sites, as
// `geomds serve --rtt` takes it (SITE-SITE=DURATION,...), parsed by the
// server's own parser so both read the flag the same way.
type rttMatrix server.RTT

func parseRTTMatrix(s string) (rttMatrix, error) {
	m, err := server.ParseRTT(s)
	return rttMatrix(m), err
}

// between is the round trip between sites a and b (0 within a site).
func (m rttMatrix) between(a, b string) time.Duration { return server.RTT(m).Between(a, b) }

// covers checks that every pair of sites has a round trip.
func (m rttMatrix) covers(sites []string) error {
	for i, a := range sites {
		for _, b := range sites[i+1:] {
			_, ok1 := m[[2]string{a, b}]
			_, ok2 := m[[2]string{b, a}]
			if !ok1 && !ok2 {
				return fmt.Errorf("no round trip given for %s-%s", a, b)
			}
		}
	}
	return nil
}

// nearest is the round trip from site to the closest other site in sites:
// with three voters, the leader's commit waits for that one follower.
func (m rttMatrix) nearest(site string, sites []string) time.Duration {
	best := time.Duration(-1)
	for _, s := range sites {
		if s != site && (best < 0 || m.between(site, s) < best) {
			best = m.between(site, s)
		}
	}
	return max(best, 0)
}

// farthest is the largest round trip from site to another site in sites.
func (m rttMatrix) farthest(site string, sites []string) time.Duration {
	var worst time.Duration
	for _, s := range sites {
		worst = max(worst, m.between(site, s))
	}
	return worst
}

// String renders m as the flag takes it, pairs in a stable order.
func (m rttMatrix) String() string {
	var parts []string
	for i, a := range clusterSites {
		for _, b := range clusterSites[i+1:] {
			parts = append(parts, fmt.Sprintf("%s-%s=%s", a, b, m.between(a, b)))
		}
	}
	return strings.Join(parts, ",")
}
