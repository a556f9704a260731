// Package chunkstore is a site's chunk store: immutable chunks in a blob
// store (gocloud.dev/blob: file://, s3://, mem://), each with its checksum
// kept beside it. The nodes of a site serve it through their chunk service
// (server/chunk); a client given the store's URL reads and writes it
// directly, as the nodes do, and the metadata records the same thing
// either way.
package chunkstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	"github.com/geomds/geomds/proto/chunksum"
)

// MaxChunkSize bounds one chunk (64 MiB), so a reader may hold a whole chunk
// in memory and a bad size in a request cannot ask for more.
const MaxChunkSize = 64 << 20

// sumKey is the blob metadata key holding the hex sum (mem, s3);
// legacySumKey held the SHA-256 of chunks written before CRC-32C.
const (
	sumKey       = "sum"
	legacySumKey = "sha256"
)

// Store is one site's chunk store. It is safe for concurrent use; the
// nodes of a site may share the underlying bucket.
type Store struct {
	bucket *blob.Bucket
	site   string
	// dir is the absolute root directory for file:// (empty otherwise):
	// Put and Delete fsync it, because gocloud does not.
	dir string
	// directWrites counts chunks PutBytes wrote with direct I/O (tests).
	directWrites atomic.Int64
}

// Open opens the store at url for site. Supported: file:///abs/dir (created
// if missing), mem://, s3://bucket?... (gocloud's s3blob query parameters).
func Open(ctx context.Context, rawURL string, site string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("chunk store %q: %w", rawURL, err)
	}
	s := &Store{site: site}
	switch u.Scheme {
	case "file":
		s.dir, s.bucket, err = openFile(u)
	case "mem":
		s.bucket = memblob.OpenBucket(nil)
	case "s3":
		s.bucket, err = (&s3blob.URLOpener{}).OpenBucketURL(ctx, u)
	default:
		err = fmt.Errorf("unsupported scheme %q (want file, mem or s3)", u.Scheme)
	}
	if err != nil {
		return nil, fmt.Errorf("chunk store %q: %w", rawURL, err)
	}
	return s, nil
}

// openFile opens a file:// bucket: directory created, temporary files next
// to the chunks (so the rename stays on one file system), no sidecars.
func openFile(u *url.URL) (string, *blob.Bucket, error) {
	if len(u.Query()) > 0 {
		return "", nil, errors.New("file:// takes no query parameters")
	}
	if u.Host != "" && u.Host != "localhost" && u.Host != "." {
		return "", nil, fmt.Errorf("file:// host %q: want file:///abs/dir", u.Host)
	}
	dir := filepath.FromSlash(u.Path)
	if u.Host == "." {
		dir = filepath.FromSlash(u.Path[min(1, len(u.Path)):])
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	if err := mkdirDurable(dir); err != nil {
		return "", nil, err
	}
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{
		NoTempDir: true,
		Metadata:  fileblob.MetadataDontWrite,
	})
	if err != nil {
		return "", nil, err
	}
	return dir, b, nil
}

// mkdirDurable creates dir and its missing parents and fsyncs the parent of
// each one it created, so the store's directory survives a crash.
func mkdirDurable(dir string) error {
	var missing []string // deepest first
	for d := dir; filepath.Dir(d) != d; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
	}
	if len(missing) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range missing {
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// Site is the site this store belongs to.
func (s *Store) Site() string { return s.site }

// Dir is the root directory of a file:// store ("" for other stores).
func (s *Store) Dir() string { return s.dir }

// Close releases the bucket.
func (s *Store) Close() error { return s.bucket.Close() }

// Info describes a stored chunk.
type Info struct {
	Size uint64
	// Sum is the sum recorded at Put (proto/chunksum), or nil where none
	// was kept (a file:// store on a file system without user xattrs).
	Sum []byte
}

// Stat returns the chunk's size and recorded sum; ErrNotFound when missing.
func (s *Store) Stat(ctx context.Context, id string) (Info, error) {
	if err := ValidID(id); err != nil {
		return Info{}, err
	}
	a, err := s.bucket.Attributes(ctx, id)
	if err != nil {
		return Info{}, wrap("stat", id, err)
	}
	info := Info{Size: uint64(a.Size)}
	for _, key := range []string{sumKey, legacySumKey} {
		if sum, err := hex.DecodeString(a.Metadata[key]); err == nil && chunksum.Check(sum) == nil {
			info.Sum = sum
			break
		}
	}
	if s.dir != "" {
		info.Sum, err = s.fileSum(id)
	}
	return info, err
}

// RecordedSum is the sum kept at Put, or nil where none was kept.
func (s *Store) RecordedSum(ctx context.Context, id string) ([]byte, error) {
	if s.dir != "" {
		return s.fileSum(id)
	}
	info, err := s.Stat(ctx, id)
	return info.Sum, err
}

// fileSum reads a file:// chunk's sum from its extended attribute (nil if
// it has none). An ID fileblob would escape is not looked up: its file name
// is not the ID.
func (s *Store) fileSum(id string) ([]byte, error) {
	if strings.Contains(id, "__0x") {
		return nil, nil
	}
	sum, err := readSum(filepath.Join(s.dir, id))
	if err != nil {
		return nil, fmt.Errorf("get %s: sum: %w", id, err)
	}
	return sum, nil
}

// Delete removes the chunk; a missing chunk is not an error. On file:// the
// removal is fsynced, so a confirmed deletion does not come back.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ValidID(id); err != nil {
		return err
	}
	err := s.bucket.Delete(ctx, id)
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return wrap("delete", id, err)
	}
	if s.dir != "" {
		return syncDir(s.dir)
	}
	return nil
}

// wrap adds the operation and ID and turns gocloud's NotFound into
// ErrNotFound.
func wrap(op, id string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%s %s: %w", op, id, ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", op, id, err)
}

// syncDir fsyncs a directory, making renames and removals in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}
