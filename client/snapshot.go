package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// A snapshot file is
//
//	geomds-snapshot v1\n
//	{"shard":1,"index":N,"namespace_digest":"…","node":"n1","created":"…"}\n
//	the shard's state stream (self-checksummed by storage)
//	32 bytes: SHA-256 of everything before them
//
// The trailing checksum covers the header too, so a damaged or truncated
// file is rejected before anything is restored from it.
const snapshotMagic = "geomds-snapshot v1\n"

// SnapshotInfo describes a saved snapshot.
type SnapshotInfo struct {
	Shard           uint64    `json:"shard"`
	Index           uint64    `json:"index"`
	NamespaceDigest string    `json:"namespace_digest"`
	Node            string    `json:"node"`
	Created         time.Time `json:"created"`
	Bytes           int64     `json:"bytes,omitempty"` // size of the whole file
}

// SaveSnapshot streams a consistent snapshot of shard 1 from the cluster
// into w. progress, when set, is called with the bytes written so far.
func (c *Client) SaveSnapshot(ctx context.Context, w io.Writer, progress func(int64)) (*SnapshotInfo, error) {
	// A stream cannot be retried once data has been written, so only the
	// opening (up to the first message) fails over between endpoints.
	ctx = c.outgoing(ctx)
	var last error = errors.New("no endpoints")
	for _, ep := range c.order(false) {
		stream, err := ep.cl.Snapshot(ctx, &pb.SnapshotRequest{Shard: 1})
		if err != nil {
			last = err
			continue
		}
		first, err := stream.Recv()
		if err != nil {
			last = err
			continue
		}
		info := &SnapshotInfo{Shard: 1, Index: first.GetIndex(), NamespaceDigest: hex.EncodeToString(first.GetNamespaceDigest()), Node: first.GetNode(), Created: time.Now().UTC()}
		if err := writeSnapshot(w, info, stream, progress); err != nil {
			return nil, fromStatus(err)
		}
		return info, nil
	}
	return nil, fromStatus(last)
}

type snapshotStream interface {
	Recv() (*pb.SnapshotData, error)
}

func writeSnapshot(w io.Writer, info *SnapshotInfo, stream snapshotStream, progress func(int64)) error {
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h), progress: progress}
	hdr, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(cw, "%s%s\n", snapshotMagic, hdr); err != nil {
		return err
	}
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if _, err := cw.Write(msg.GetData()); err != nil {
			return err
		}
	}
	_, err = w.Write(h.Sum(nil))
	info.Bytes = cw.n + sha256.Size
	return err
}

type countWriter struct {
	w        io.Writer
	n        int64
	progress func(int64)
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if c.progress != nil {
		c.progress(c.n)
	}
	return n, err
}

// ErrBadSnapshot is returned for a truncated or corrupted snapshot file.
var ErrBadSnapshot = errors.New("not a valid geomds snapshot")

// OpenSnapshot verifies a snapshot file's checksum over its whole length
// and returns its header and a reader of the state stream inside it.
func OpenSnapshot(path string) (*SnapshotInfo, io.Reader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	info, r, err := verifySnapshot(f)
	if err != nil {
		f.Close()
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return info, r, f, nil
}

func verifySnapshot(f *os.File) (*SnapshotInfo, io.Reader, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if size < int64(len(snapshotMagic))+sha256.Size {
		return nil, nil, fmt.Errorf("%w: only %d bytes", ErrBadSnapshot, size)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, size-sha256.Size)); err != nil {
		return nil, nil, err
	}
	want := make([]byte, sha256.Size)
	if _, err := f.ReadAt(want, size-sha256.Size); err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(h.Sum(nil), want) {
		return nil, nil, fmt.Errorf("%w: checksum mismatch (truncated or corrupted)", ErrBadSnapshot)
	}
	br := bufio.NewReader(io.NewSectionReader(f, 0, size-sha256.Size))
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != snapshotMagic {
		return nil, nil, fmt.Errorf("%w: bad magic", ErrBadSnapshot)
	}
	line, err := br.ReadBytes('\n')
	if err != nil {
		return nil, nil, fmt.Errorf("%w: no header", ErrBadSnapshot)
	}
	info := &SnapshotInfo{}
	if err := json.Unmarshal(line, info); err != nil {
		return nil, nil, fmt.Errorf("%w: header: %v", ErrBadSnapshot, err)
	}
	info.Bytes = size
	return info, br, nil
}
