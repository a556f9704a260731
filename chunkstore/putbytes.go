package chunkstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/geomds/geomds/proto/chunksum"
)

// PutBytes stores data as chunk id and returns its sum (proto/chunksum),
// computed once here: the caller has nothing to check it against. On
// file:// a chunk whose address and length are multiples of the file
// system's block size is written with direct I/O: straight from data to the
// disk, with no copy into the page cache, which costs a writer as much CPU
// as all the rest of a chunk's way (a whole 4 MiB chunk from a client's
// buffer qualifies; a file's short last chunk does not and goes the way Put
// goes).
func (s *Store) PutBytes(ctx context.Context, id string, data []byte) ([]byte, error) {
	sum := chunksum.Of(data)
	if err := checkPut(id, uint64(len(data)), sum); err != nil {
		return nil, err
	}
	if s.dir != "" && directIOable(data) {
		if done, err := s.putDirectIO(ctx, id, sum, data); done {
			return sum, err
		}
	}
	return sum, s.Put(ctx, id, uint64(len(data)), sum, bytes.NewReader(data))
}

// putDirectIO writes a file:// chunk as Put does (a temporary file named
// as fileblob names its own, the sum in an xattr, fsync, rename, fsync of
// the directory), with direct I/O; sum is data's, checked by the caller.
// done is false when the file system refuses direct I/O, before anything
// was written.
func (s *Store) putDirectIO(ctx context.Context, id string, sum, data []byte) (done bool, err error) {
	if err := ctx.Err(); err != nil {
		return true, fmt.Errorf("put %s: %w", id, err)
	}
	final := filepath.Join(s.dir, id)
	tmp := final + "." + strconv.FormatInt(time.Now().UnixNano(), 16) + ".tmp"
	f, err := openDirect(tmp)
	if errors.Is(err, errNoDirectIO) {
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("put %s: %w", id, err)
	}
	err = writeDirect(f, data, sum)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) { // opened with O_DIRECT, yet refused it
		_ = os.Remove(tmp)
		return false, nil
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return true, fmt.Errorf("put %s: %w", id, err)
	}
	s.directWrites.Add(1)
	return true, syncDir(s.dir)
}

// writeDirect writes data and its sum to f and syncs it.
func writeDirect(f *os.File, data, sum []byte) error {
	if _, err := f.Write(data); err != nil {
		return err
	}
	writeSum(f, sum)
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return nil
}
