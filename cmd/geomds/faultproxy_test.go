package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The fault network sits on the peer links of a process cluster: each node
// is listed in --initial-cluster at the address of its own proxy, which
// forwards to the node's --listen address (clients connect to --listen
// directly, so faults hit only Raft traffic). A connection accepted by node
// d's proxy is identified as coming from node s by finding which node
// process owns its other end (/proc), so a fault on a node cuts or slows
// its links in both directions even though every proxy only sees the
// connections made to its own node.
//
// Modes per node: pass; blackhole (bytes on its links are read and dropped;
// connections that lost bytes are closed when the blackhole ends, so both
// ends resynchronise instead of parsing a torn HTTP/2 stream); delay (each
// chunk read is stamped and released at stamp+delay, in order, so a stream
// of messages stays pipelined: back-to-back writes leave back to back, one
// delay later).

const (
	proxyChunkBytes = 32 << 10
	proxyQueueLen   = 256 // chunks in flight per direction; the reader waits when full
)

// faultNet is the shared fault state of all the proxies of one cluster.
type faultNet struct {
	proxies []*faultProxy

	mu         sync.Mutex
	pids       []int // current pid of each node (0 = not running)
	blackholed []bool
	delay      []time.Duration // one-way, added to every chunk to or from the node
	unknownSrc int             // accepted connections whose source node was not found
}

// newFaultNet starts one proxy per node; proxies[i].addr is what the
// cluster lists for node i. targets are the nodes' --listen addresses.
func newFaultNet(t *testing.T, targets []string) *faultNet {
	t.Helper()
	fn := &faultNet{pids: make([]int, len(targets)), blackholed: make([]bool, len(targets)),
		delay: make([]time.Duration, len(targets))}
	for i, target := range targets {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fn.close()
			t.Fatal(err)
		}
		p := &faultProxy{net: fn, node: i, target: target, ln: ln, addr: ln.Addr().String(), conns: map[*proxyConn]bool{}}
		fn.proxies = append(fn.proxies, p)
		p.wg.Add(1)
		go p.accept()
	}
	return fn
}

func (fn *faultNet) close() {
	for _, p := range fn.proxies {
		p.close()
	}
}

// setPid records node i's process (0 when it is down) for source lookups.
func (fn *faultNet) setPid(i, pid int) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	fn.pids[i] = pid
}

// blackhole cuts (on) or restores (off) every peer link of node i.
func (fn *faultNet) blackhole(i int, on bool) {
	fn.mu.Lock()
	fn.blackholed[i] = on
	fn.mu.Unlock()
	if !on {
		for _, p := range fn.proxies {
			p.closeTorn()
		}
	}
}

// setDelay adds d one way to every peer link of node i (0 removes it).
func (fn *faultNet) setDelay(i int, d time.Duration) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	fn.delay[i] = d
}

// fault returns what happens now to a chunk from node src to node dst
// (either may be -1, unknown: the reply direction of a connection whose
// source was not found has dst -1; only the known node's fault applies).
func (fn *faultNet) fault(src, dst int) (drop bool, delay time.Duration) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if dst >= 0 {
		drop = fn.blackholed[dst]
		delay = fn.delay[dst]
	}
	if src >= 0 {
		drop = drop || fn.blackholed[src]
		delay += fn.delay[src]
	}
	return drop, delay
}

// sourceNode finds which node process owns the far end of c, retrying
// briefly: a node just restarted may dial before its pid is recorded.
func (fn *faultNet) sourceNode(c net.Conn) int {
	port := c.RemoteAddr().(*net.TCPAddr).Port
	for attempt := 0; attempt < 10; attempt++ {
		if ino, ok := socketInode(port); ok {
			fn.mu.Lock()
			pids := append([]int(nil), fn.pids...)
			fn.mu.Unlock()
			for i, pid := range pids {
				if pid > 0 && ownsSocket(pid, ino) {
					return i
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	fn.mu.Lock()
	fn.unknownSrc++
	fn.mu.Unlock()
	return -1
}

// socketInode returns the inode of the local TCP socket bound to
// 127.0.0.1:port, from /proc/net/tcp.
func socketInode(port int) (string, bool) {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return "", false
	}
	defer f.Close()
	want := fmt.Sprintf("0100007F:%04X", port)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 9 && fields[1] == want && fields[9] != "0" {
			return fields[9], true
		}
	}
	return "", false
}

// ownsSocket reports whether process pid has the socket inode open.
func ownsSocket(pid int, ino string) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	want := "socket:[" + ino + "]"
	for _, e := range ents {
		if l, err := os.Readlink(dir + "/" + e.Name()); err == nil && l == want {
			return true
		}
	}
	return false
}

// faultProxy forwards the connections made to one node.
type faultProxy struct {
	net    *faultNet
	node   int
	target string
	addr   string
	ln     net.Listener
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[*proxyConn]bool
	closed bool
}

// proxyConn is one proxied connection: in from a peer, out to the node.
type proxyConn struct {
	in, out  net.Conn
	src, dst int
	torn     atomic.Bool // bytes were dropped: close when the blackhole ends
}

func (p *faultProxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(in)
	}
}

func (p *faultProxy) serve(in net.Conn) {
	defer p.wg.Done()
	out, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		in.Close()
		return
	}
	pc := &proxyConn{in: in, out: out, src: p.net.sourceNode(in), dst: p.node}
	if !p.track(pc) {
		pc.close()
		return
	}
	defer p.untrack(pc)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pump(pc, out, in, pc.src, pc.dst) }()
	go func() { defer wg.Done(); p.pump(pc, in, out, pc.dst, pc.src) }()
	wg.Wait()
	pc.close()
}

func (p *faultProxy) track(pc *proxyConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[pc] = true
	return true
}

func (p *faultProxy) untrack(pc *proxyConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, pc)
}

// chunk is one read from a connection and when it may be written on.
type chunk struct {
	b       []byte
	release time.Time
}

// pump copies src to dst, the bytes flowing from node from to node to,
// applying the faults in force when each chunk is read. A second goroutine
// writes, so a delay holds each chunk for the delay, not the whole stream.
func (p *faultProxy) pump(pc *proxyConn, dst, src net.Conn, from, to int) {
	q := make(chan chunk, proxyQueueLen)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range q {
			if d := time.Until(c.release); d > 0 {
				time.Sleep(d) // the release time itself is the point of the proxy
			}
			if _, err := dst.Write(c.b); err != nil {
				pc.close()
				for range q { // drain so the reader never blocks
				}
				return
			}
		}
	}()
	var last time.Time
	buf := make([]byte, proxyChunkBytes)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			drop, delay := p.net.fault(from, to)
			if drop {
				pc.torn.Store(true)
			} else {
				release := time.Now().Add(delay)
				if release.Before(last) {
					release = last // keep order when the delay shrinks
				}
				last = release
				q <- chunk{b: append([]byte(nil), buf[:n]...), release: release}
			}
		}
		if err != nil {
			break
		}
	}
	close(q)
	<-done
	// Pass the end of stream on (half-close), so the other direction ends too.
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	} else {
		dst.Close()
	}
}

func (pc *proxyConn) close() {
	pc.in.Close()
	pc.out.Close()
}

// closeTorn closes the connections that dropped bytes.
func (p *faultProxy) closeTorn() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pc := range p.conns {
		if pc.torn.Load() {
			pc.close()
		}
	}
}

func (p *faultProxy) close() {
	p.mu.Lock()
	p.closed = true
	p.ln.Close()
	for pc := range p.conns {
		pc.close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// faultCluster is a process cluster whose peer links run through a faultNet.
type faultCluster struct {
	*procCluster
	net *faultNet
}

// startFaultCluster starts three nodes, each listed in --initial-cluster at
// its proxy's address.
func startFaultCluster(t *testing.T, extra ...string) *faultCluster {
	t.Helper()
	pc := &procCluster{t: t, bin: geomdsBinary(t), extra: extra}
	sites := []string{"east", "west", "north"}
	addrs := freeAddrs(t, len(sites))
	fc := &faultCluster{procCluster: pc, net: newFaultNet(t, addrs)}
	var parts []string
	for i, s := range sites {
		p := &proc{name: fmt.Sprintf("n%d", i+1), site: s, addr: addrs[i], dir: filepath.Join(t.TempDir(), s)}
		pc.procs = append(pc.procs, p)
		parts = append(parts, fmt.Sprintf("%s=%s@%s", p.name, p.site, fc.net.proxies[i].addr))
	}
	pc.initial = strings.Join(parts, ",")
	t.Cleanup(func() {
		for _, p := range pc.procs {
			if p.cmd != nil && p.cmd.Process != nil {
				p.cmd.Process.Kill()
				p.cmd.Wait()
			}
			if p.log != nil {
				p.log.Close()
			}
		}
		fc.net.close()
		if t.Failed() {
			for _, p := range pc.procs {
				b, _ := os.ReadFile(p.dir + ".log")
				t.Logf("--- %s log (tail) ---\n%s", p.name, tail(string(b), 3000))
			}
		}
	})
	for i := range pc.procs {
		fc.startNode(i)
	}
	return fc
}

// startNode (re)starts node i and tells the proxies its pid.
func (fc *faultCluster) startNode(i int) {
	fc.restart(i)
	fc.net.setPid(i, fc.procs[i].cmd.Process.Pid)
}

// killNode kills node i with SIGKILL.
func (fc *faultCluster) killNode(i int) {
	fc.net.setPid(i, 0)
	fc.kill(i)
}

// unidentified counts the peer connections whose source node was not found
// (faults then apply at their destination only).
func (fn *faultNet) unidentified() int {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	return fn.unknownSrc
}

// TestFaultProxy checks the proxy on an echo server: bytes pass; a delay
// holds every chunk for the delay but keeps a burst pipelined; a blackhole
// of the connecting process (found through /proc) drops bytes, and the torn
// connection is closed when it ends; a new connection then passes again.
func TestFaultProxy(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var echoes sync.WaitGroup
	defer echoes.Wait()
	defer echo.Close()
	echoes.Add(1)
	go func() {
		defer echoes.Done()
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			echoes.Add(1)
			go func() { defer echoes.Done(); defer c.Close(); io.Copy(c, c) }()
		}
	}()
	// Node 0 is the echo server; node 1 is this process, the connecting peer.
	fn := newFaultNet(t, []string{echo.Addr().String(), "127.0.0.1:1"})
	defer fn.close()
	fn.setPid(1, os.Getpid())
	dial := func() net.Conn {
		c, err := net.Dial("tcp", fn.proxies[0].addr)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	roundTrip := func(c net.Conn, msg string) error {
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if string(buf) != msg {
			return fmt.Errorf("echo %q, want %q", buf, msg)
		}
		return nil
	}

	c := dial()
	defer c.Close()
	if err := roundTrip(c, "hello"); err != nil {
		t.Fatal(err)
	}

	const delay, burst = 100 * time.Millisecond, 50
	fn.setDelay(1, delay)
	start := time.Now()
	if err := roundTrip(c, strings.Repeat("x", burst*1000)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < burst; i++ { // back-to-back writes, then read them all
		if _, err := c.Write([]byte("y")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := io.ReadFull(c, make([]byte, burst)); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	fn.setDelay(1, 0)
	if took < 4*delay {
		t.Errorf("two delayed round trips took %s, less than 4×%s", took, delay)
	}
	if took > burst*2*delay/3 {
		t.Errorf("a burst of %d writes took %s: the delay is not pipelined (one at a time would take %s)", burst, took, burst*2*delay)
	}

	fn.blackhole(1, true)
	if _, err := c.Write([]byte("lost")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := c.Read(make([]byte, 8)); n > 0 || err == nil {
		t.Fatalf("read %d bytes through a blackhole (err %v)", n, err)
	}
	fn.blackhole(1, false)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 8)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the torn connection was not closed when the blackhole ended: %v", err)
	}
	c2 := dial()
	defer c2.Close()
	if err := roundTrip(c2, "again"); err != nil {
		t.Fatal(err)
	}
	if n := fn.unidentified(); n != 0 {
		t.Errorf("%d connections from this process were not identified", n)
	}
}
