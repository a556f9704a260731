//go:build linux

package chunk

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"

	"github.com/geomds/geomds/chunkstore"
	"github.com/geomds/geomds/chunkstore/chunkstoretest"
	"github.com/geomds/geomds/proto/chunksum"
	pb "github.com/geomds/geomds/proto/geomdspb"
)

// TestFileSum checks how a file:// store keeps a chunk's sum: recorded at
// Put and sent first; without it (a file system without user xattrs, or a
// chunk from before) hashed while sending and sent last; and damage at rest
// under a recorded sum fails the reader's check.
func TestFileSum(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	s := chunkstoretest.Open(t, chunkstoretest.FileURL(dir))
	cc := serve(t, NewService(s))
	data := chunkstoretest.RandomBytes(21, 2*MessageSize+7)
	id := chunkstore.NewID()
	chunkstoretest.Put(t, s, id, data)
	path := filepath.Join(dir, id)
	if sum, err := xattrSum(path); errors.Is(err, unix.ENOTSUP) || sum == nil {
		t.Skipf("the test directory's file system keeps no user xattrs (%v)", err)
	}

	msgs := rawGet(t, cc, &pb.GetChunkRequest{Id: id})
	if !bytes.Equal(msgs[0].GetSum(), chunksum.Of(data)) || len(msgs[len(msgs)-1].GetData()) == 0 {
		t.Fatalf("recorded sum: first message sum %x, last message %d bytes", msgs[0].GetSum(), len(msgs[len(msgs)-1].GetData()))
	}

	if err := unix.Removexattr(path, chunkstore.SumXattr); err != nil {
		t.Fatal(err)
	}
	msgs = rawGet(t, cc, &pb.GetChunkRequest{Id: id})
	last := msgs[len(msgs)-1]
	if msgs[0].GetSum() != nil || len(last.GetData()) > 0 || !bytes.Equal(last.GetSum(), chunksum.Of(data)) {
		t.Fatalf("no recorded sum: first message sum %x, last message %d bytes sum %x", msgs[0].GetSum(), len(last.GetData()), last.GetSum())
	}
	if got, _, err := GetRemote(chunkstoretest.Ctx(t), cc, id, 0, 0); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GetRemote with the sum sent last: %d bytes, %v", len(got), err)
	}

	damaged := chunkstore.NewID()
	chunkstoretest.Put(t, s, damaged, data)
	f, err := os.OpenFile(filepath.Join(dir, damaged), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{^data[MessageSize]}, MessageSize); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, _, err := GetRemote(chunkstoretest.Ctx(t), cc, damaged, 0, 0); !errors.Is(err, chunkstore.ErrChecksum) {
		t.Fatalf("GetRemote of a chunk damaged at rest = %v, want chunkstore.ErrChecksum", err)
	}
}

// TestLegacySHA256 checks the chunks written before CRC-32C: a Put that
// carries a SHA-256 is verified against it and kept with it, a chunk whose
// SHA-256 sits under the old xattr name is served with it, and a wrong
// SHA-256 is refused like a wrong CRC-32C.
func TestLegacySHA256(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	s := chunkstoretest.Open(t, chunkstoretest.FileURL(dir))
	cc := serve(t, NewService(s))
	data := chunkstoretest.RandomBytes(22, MessageSize+3)
	sha := sha256.Sum256(data)

	id := chunkstore.NewID()
	if err := rawPut(t, cc, &pb.PutChunkRequest{Id: id, Size: uint64(len(data)), Sum: sha[:], Data: data}); err != nil {
		t.Fatalf("Put with a SHA-256: %v", err)
	}
	path := filepath.Join(dir, id)
	if sum, err := xattrSum(path); errors.Is(err, unix.ENOTSUP) || sum == nil {
		t.Skipf("the test directory's file system keeps no user xattrs (%v)", err)
	}
	if msgs := rawGet(t, cc, &pb.GetChunkRequest{Id: id}); !bytes.Equal(msgs[0].GetSum(), sha[:]) {
		t.Fatalf("first message sum %x, want the SHA-256 %x", msgs[0].GetSum(), sha)
	}

	// As a chunk stored before: the SHA-256 under the old name only.
	if err := unix.Removexattr(path, chunkstore.SumXattr); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(path, chunkstore.LegacySumXattr, sha[:], 0); err != nil {
		t.Fatal(err)
	}
	if msgs := rawGet(t, cc, &pb.GetChunkRequest{Id: id}); !bytes.Equal(msgs[0].GetSum(), sha[:]) {
		t.Fatalf("old xattr: first message sum %x, want %x", msgs[0].GetSum(), sha)
	}
	if got, _, err := GetRemote(chunkstoretest.Ctx(t), cc, id, 0, 0); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GetRemote of a SHA-256 chunk: %d bytes, %v", len(got), err)
	}

	bad := sha
	bad[0] ^= 1
	err := rawPut(t, cc, &pb.PutChunkRequest{Id: chunkstore.NewID(), Size: uint64(len(data)), Sum: bad[:], Data: data})
	wantErrno(t, err, codes.InvalidArgument, "EINVAL")
	err = rawPut(t, cc, &pb.PutChunkRequest{Id: chunkstore.NewID(), Size: uint64(len(data)), Sum: sha[:7], Data: data})
	wantErrno(t, err, codes.InvalidArgument, "EINVAL")
}

// xattrSum reads the sum a file:// store kept on the chunk file at path.
func xattrSum(path string) ([]byte, error) {
	buf := make([]byte, 64)
	n, err := unix.Getxattr(path, chunkstore.SumXattr, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}
