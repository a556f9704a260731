package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer echoes every connection until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c) //nolint:errcheck // ends with the connection
			}()
		}
	}()
	return l.Addr().String()
}

// TestDelayProxyPipelines sends lines back to back through a proxy with a
// long one-way delay: each echo comes back no sooner than the round trip,
// and all of them within far less than one round trip per line, which is
// what a proxy holding each chunk before reading the next would take.
func TestDelayProxyPipelines(t *testing.T) {
	const d, n = 150 * time.Millisecond, 20
	p, err := newDelayProxy(echoServer(t), d)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	c, err := net.Dial("tcp", p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	start := time.Now()
	sent := make([]time.Time, n)
	for i := range n {
		sent[i] = time.Now()
		if _, err := fmt.Fprintf(c, "line %d\n", i); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // separate chunks, not one write
	}
	for i := range n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("line %d\n", i); line != want {
			t.Fatalf("got %q, want %q", line, want)
		}
		if rtt := time.Since(sent[i]); rtt < 2*d {
			t.Fatalf("line %d came back after %v, before the round trip %v", i, rtt, 2*d)
		}
	}
	if total := time.Since(start); total >= n*2*d/2 {
		t.Fatalf("%d lines took %v: not pipelined (one round trip each would be %v)", n, total, n*2*d)
	}
}

// TestDelayProxyClose cuts open connections and returns.
func TestDelayProxyClose(t *testing.T) {
	p, err := newDelayProxy(echoServer(t), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "x\n")
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	p.close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read from a closed proxy succeeded")
	}
}

func TestCallerSite(t *testing.T) {
	siteOf := map[string]string{"127.0.0.1:4001": "west", "127.0.0.1:4002": "north"}
	head := []byte("GET /raft/stream/msgappv2/8e9e05c52164694d HTTP/1.1\r\nHost: 127.0.0.1:4000\r\n" +
		"X-Server-From: 8e9e05c52164694d\r\nx-peerurls: http://127.0.0.1:4002\r\n\r\n")
	if got := callerSite(head, siteOf); got != "north" {
		t.Errorf("callerSite = %q, want north", got)
	}
	if got := callerSite([]byte("GET /version HTTP/1.1\r\n\r\n"), siteOf); got != "" {
		t.Errorf("callerSite without the header = %q, want none", got)
	}
	if got := requestKind("GET /raft/stream/msgappv2/8e9e HTTP/1.1"); got != "GET /raft/stream" {
		t.Errorf("requestKind = %q", got)
	}
}
