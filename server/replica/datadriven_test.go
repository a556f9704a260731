package replica_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestDataDriven replays testdata/*.txt against an in-memory cluster.
// Commands:
//
//	bootstrap nodes=N            start nodes 1..N as a new group, elect a leader
//	transfer to=ID               move leadership, print the leader
//	propose node=ID data=S       propose at a node, print the result
//	read node=ID                 ReadIndex at a node; print whether it covers the last write
//	partition node=ID / heal     cut a node off / reconnect everyone
//	records                      wait until the running nodes converge, print their payloads
//	roles                        print each node's role
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		c := newCluster(t, nil)
		var lastWrite uint64
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "bootstrap":
				var n int
				d.ScanArgs(t, "nodes", &n)
				c.bootstrap(n)
				return fmt.Sprintf("leader elected: %v", c.leader() != nil)
			case "transfer":
				var to uint64
				d.ScanArgs(t, "to", &to)
				var err error
				c.tickUntil("transfer", async(func() { err = c.node(to).r.TransferLeader(context.Background(), to) }))
				if err != nil {
					return err.Error()
				}
				return fmt.Sprintf("leader: %d", c.leader().id)
			case "propose":
				var id uint64
				var data string
				d.ScanArgs(t, "node", &id)
				d.ScanArgs(t, "data", &data)
				p := c.proposeAll(c.node(id), data)[0]
				if p.err != nil {
					return p.err.Error()
				}
				lastWrite = max(lastWrite, p.index)
				return fmt.Sprint(p.res)
			case "read":
				var id uint64
				d.ScanArgs(t, "node", &id)
				var idx uint64
				var err error
				c.tickUntil("read", async(func() { idx, err = c.node(id).r.ReadIndex(context.Background()) }))
				if err != nil {
					return err.Error()
				}
				return fmt.Sprintf("covers last write: %v", idx >= lastWrite)
			case "partition":
				var id uint64
				d.ScanArgs(t, "node", &id)
				c.net.partition(id, []uint64{1, 2, 3, 4, 5})
				return "ok"
			case "heal":
				c.net.heal()
				return "ok"
			case "records":
				c.converged()
				return c.describe(func(nd *node) string { return strings.Join(nd.sm.Payloads(), " ") })
			case "roles":
				return c.describe(func(nd *node) string { return nd.r.Status().Role })
			}
			t.Fatalf("unknown command %q", d.Cmd)
			return ""
		})
	})
}

// describe prints one line per running node, in ID order.
func (c *cluster) describe(f func(*node) string) string {
	var b strings.Builder
	for id := uint64(1); id <= 5; id++ {
		if nd := c.node(id); nd != nil {
			fmt.Fprintf(&b, "%d: %s\n", id, f(nd))
		}
	}
	return b.String()
}
