package client

import (
	"context"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Open handles live in the client's session (keyed by its client ID): an
// unlinked file stays until its last handle is released, and a session not
// renewed by KeepAlive expires with its handles.

// Open records an open handle of ino with open(2) flags and returns it.
func (c *Client) Open(ctx context.Context, ino uint64, flags uint32) (uint64, error) {
	res, err := c.Mutate(ctx, &pb.Command{Op: &pb.Command_Open{Open: &pb.Open{Ino: ino, Flags: flags}}})
	return res.GetHandle(), withOp(err, "open", inoString(ino))
}

// Release closes a handle returned by Open or MknodAt.
func (c *Client) Release(ctx context.Context, handle uint64) error {
	_, err := c.Mutate(ctx, &pb.Command{Op: &pb.Command_Release{Release: &pb.Release{Handle: handle}}})
	return err
}

// KeepAlive renews the client's session for timeout (of command time).
func (c *Client) KeepAlive(ctx context.Context, timeout time.Duration) error {
	_, err := c.Mutate(ctx, &pb.Command{Op: &pb.Command_KeepAlive{KeepAlive: &pb.KeepAlive{TimeoutNs: int64(timeout)}}})
	return withOp(err, "keepalive", "")
}

// CloseSession ends the client's session, releasing its handles.
func (c *Client) CloseSession(ctx context.Context) error {
	_ = c.drainReleases(ctx) // queued releases belong to the session: send them first
	_, err := c.Mutate(ctx, &pb.Command{Op: &pb.Command_CloseSession{CloseSession: &pb.CloseSession{}}})
	return withOp(err, "closesession", "")
}
