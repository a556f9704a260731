package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// delayProxy is a loopback TCP proxy that emulates a link's latency without
// limiting its throughput: every chunk read from one side is stamped with
// the time it arrived and written to the other side at that stamp plus the
// one-way delay. Back-to-back messages stay back to back (pipelined), each
// late by the delay; a proxy that held each read for the delay before
// reading the next would cap a connection at one chunk per delay.
type delayProxy struct {
	l      net.Listener
	target string
	sniff  bool                            // read the request head before choosing the delay
	delay  func(head []byte) time.Duration // one way, per connection

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// sniffLimit bounds the request head a sniffing proxy reads before it
// chooses a delay; sniffWait bounds how long it waits for it.
const (
	sniffLimit = 8 << 10
	sniffWait  = 2 * time.Second
)

// newDelayProxy forwards a fresh loopback port to target with one-way
// delay d in both directions.
func newDelayProxy(target string, d time.Duration) (*delayProxy, error) {
	return startDelayProxy(target, false, func([]byte) time.Duration { return d })
}

func startDelayProxy(target string, sniff bool, delay func([]byte) time.Duration) (*delayProxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return serveDelayProxy(l, target, sniff, delay), nil
}

// serveDelayProxy serves a proxy on l, which lets the caller learn the
// proxy's address before it serves (to build what delay consults).
func serveDelayProxy(l net.Listener, target string, sniff bool, delay func([]byte) time.Duration) *delayProxy {
	p := &delayProxy{l: l, target: target, sniff: sniff, delay: delay, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	return p
}

// addr is the proxy's host:port.
func (p *delayProxy) addr() string { return p.l.Addr().String() }

// close stops accepting, cuts every connection and waits for the
// proxy's goroutines.
func (p *delayProxy) close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.l.Close()
	p.wg.Wait()
}

// track registers c to be cut by close; false once the proxy is closed.
func (p *delayProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *delayProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *delayProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Go(func() { p.handle(c) })
	}
}

func (p *delayProxy) handle(c net.Conn) {
	defer p.untrack(c)
	var head []byte
	headAt := time.Now()
	if p.sniff {
		head, headAt = sniffHead(c)
	}
	d := p.delay(head)
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return // the client sees its connection close, as with a refused one
	}
	if !p.track(up) {
		up.Close()
		return
	}
	defer p.untrack(up)
	var wg sync.WaitGroup
	wg.Go(func() { pipeDelayed(up, c, d, head, headAt) })
	wg.Go(func() { pipeDelayed(c, up, d, nil, time.Time{}) })
	wg.Wait()
}

// sniffHead reads from c until the end of an HTTP request head, sniffLimit
// bytes, an error or sniffWait, and returns what it read and when the
// first of it arrived.
func sniffHead(c net.Conn) ([]byte, time.Time) {
	c.SetReadDeadline(time.Now().Add(sniffWait)) //nolint:errcheck // a fresh TCP conn
	defer c.SetReadDeadline(time.Time{})         //nolint:errcheck
	var head []byte
	var at time.Time
	buf := make([]byte, sniffLimit)
	for len(head) < sniffLimit {
		n, err := c.Read(buf[:sniffLimit-len(head)])
		if n > 0 && at.IsZero() {
			at = time.Now()
		}
		head = append(head, buf[:n]...)
		if err != nil || bytes.Contains(head, []byte("\r\n\r\n")) {
			break
		}
	}
	if at.IsZero() {
		at = time.Now()
	}
	return head, at
}

// stamped is a chunk and the time it may be delivered.
type stamped struct {
	b  []byte
	at time.Time
}

// pipeDelayed copies src to dst, each chunk delivered d after it was read
// (first, already read at firstAt, goes ahead). A clean EOF half-closes
// dst, so the other direction can finish; any failure cuts both.
func pipeDelayed(dst, src net.Conn, d time.Duration, first []byte, firstAt time.Time) {
	ch := make(chan stamped, 256)
	wrote := make(chan bool, 1)
	go func() { wrote <- writeDelayed(dst, src, ch) }()
	if len(first) > 0 {
		ch <- stamped{first, firstAt.Add(d)}
	}
	buf := make([]byte, 32<<10)
	var rerr error
	for rerr == nil {
		var n int
		n, rerr = src.Read(buf)
		if n > 0 {
			ch <- stamped{append([]byte(nil), buf[:n]...), time.Now().Add(d)}
		}
	}
	close(ch)
	if <-wrote && errors.Is(rerr, io.EOF) {
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite() //nolint:errcheck // the peer may be gone
			return
		}
	}
	src.Close()
	dst.Close()
}

// writeDelayed writes each chunk at its time. After a failed write it cuts
// both connections (so the reader stops) and drains the rest.
func writeDelayed(dst, src net.Conn, ch <-chan stamped) bool {
	ok := true
	for s := range ch {
		if !ok {
			continue
		}
		if w := time.Until(s.at); w > 0 {
			time.Sleep(w)
		}
		if _, err := dst.Write(s.b); err != nil {
			ok = false
			src.Close()
			dst.Close()
		}
	}
	return ok
}
