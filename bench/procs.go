package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// child is a server process this benchmark started. Its output goes to a
// log file in the scratch directory, shown when something fails.
type child struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the process has exited
	err  error         // its exit status; valid after done
}

// startChild starts bin with args, logging to dir/name.log. The child is in
// its own process group (a terminal's ^C reaches only this process, which
// then stops the children in order) and dies with this process on Linux.
func startChild(dir, name, bin string, args ...string) (*child, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the child holds its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// pids are the children's process IDs.
func (cs children) pids() []int {
	out := make([]int, len(cs))
	for i, c := range cs {
		out[i] = c.cmd.Process.Pid
	}
	return out
}

// exited reports an error if the child is no longer running.
func (c *child) exited() error {
	select {
	case <-c.done:
		return fmt.Errorf("%s exited: %v\n%s", c.name, c.err, c.tail(2000))
	default:
		return nil
	}
}

// kill stops the child and waits for it. Its data is scratch, so there
// is nothing to shut down gracefully.
func (c *child) kill() {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Kill() //nolint:errcheck // it may have just exited
	<-c.done
}

// tail is the end of the child's log.
func (c *child) tail(n int) string {
	b, _ := os.ReadFile(c.log)
	s := string(b)
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return strings.TrimRight(s, "\n")
}

// children is every child started, stopped together.
type children []*child

func (cs children) kill() {
	for _, c := range cs {
		c.kill()
	}
}

// firstExit returns an error naming the first child that has exited.
func (cs children) firstExit() error {
	for _, c := range cs {
		if err := c.exited(); err != nil {
			return err
		}
	}
	return nil
}

// freePorts returns n loopback ports that were free a moment ago. Holding
// all listeners until the end keeps the n distinct.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// poll calls fn every interval until it returns nil, ctx ends, or one of
// cs exits; the last error of fn explains a timeout.
func poll(ctx context.Context, cs children, interval time.Duration, fn func(context.Context) error) error {
	var last error
	for {
		if err := cs.firstExit(); err != nil {
			return err
		}
		if last = fn(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), last)
		case <-time.After(interval):
		}
	}
}
