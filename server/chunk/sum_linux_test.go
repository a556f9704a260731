//go:build linux

package chunk

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// TestFileSum checks how a file:// store keeps a chunk's sum: recorded at
// Put and sent first; without it (a file system without user xattrs, or a
// chunk from before) hashed while sending and sent last; and damage at rest
// under a recorded sum fails the reader's check.
func TestFileSum(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	s := openStore(t, fileURL(dir))
	cc := serve(t, NewService(s))
	data := randomBytes(21, 2*MessageSize+7)
	id := NewID()
	mustPut(t, s, id, data)
	path := filepath.Join(dir, id)
	if sum, err := readSum(path); errors.Is(err, unix.ENOTSUP) || sum == nil {
		t.Skipf("the test directory's file system keeps no user xattrs (%v)", err)
	}

	msgs := rawGet(t, cc, &pb.GetChunkRequest{Id: id})
	if !bytes.Equal(msgs[0].GetSha256(), sumOf(data)) || len(msgs[len(msgs)-1].GetData()) == 0 {
		t.Fatalf("recorded sum: first message sum %x, last message %d bytes", msgs[0].GetSha256(), len(msgs[len(msgs)-1].GetData()))
	}

	if err := unix.Removexattr(path, sumXattr); err != nil {
		t.Fatal(err)
	}
	msgs = rawGet(t, cc, &pb.GetChunkRequest{Id: id})
	last := msgs[len(msgs)-1]
	if msgs[0].GetSha256() != nil || len(last.GetData()) > 0 || !bytes.Equal(last.GetSha256(), sumOf(data)) {
		t.Fatalf("no recorded sum: first message sum %x, last message %d bytes sum %x", msgs[0].GetSha256(), len(last.GetData()), last.GetSha256())
	}
	if got, err := GetRemote(testCtx(t), cc, id, 0, 0); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GetRemote with the sum sent last: %d bytes, %v", len(got), err)
	}

	damaged := NewID()
	mustPut(t, s, damaged, data)
	f, err := os.OpenFile(filepath.Join(dir, damaged), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{^data[MessageSize]}, MessageSize); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := GetRemote(testCtx(t), cc, damaged, 0, 0); !errors.Is(err, ErrChecksum) {
		t.Fatalf("GetRemote of a chunk damaged at rest = %v, want ErrChecksum", err)
	}
}
