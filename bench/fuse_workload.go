//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// seqBlock is the size of each write(2) and read(2) of the sequential
// phases, as large as a FUSE request gets here (MaxWrite).
const seqBlock = 1 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// newSeqBlock is one MiB of random bytes: data no file system can compress.
func newSeqBlock() []byte {
	b := make([]byte, seqBlock)
	r := rand.NewChaCha8([32]byte{'g', 'e', 'o', 'm', 'd', 's'})
	r.Read(b) //nolint:errcheck // ChaCha8.Read never fails
	return b
}

// writeSeq writes size bytes to a new file at path in seqBlock writes, each
// block stamped with its index (no two chunks alike, so nothing dedupes),
// then fsyncs and closes it. It returns the time of all that and the
// CRC-32C of what it wrote.
func writeSeq(ctx context.Context, path string, size int64, block []byte) (time.Duration, uint32, error) {
	start := time.Now()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, 0, err
	}
	var sum uint32
	for off := int64(0); off < size; off += seqBlock {
		if err := ctx.Err(); err != nil {
			f.Close()
			return 0, 0, err
		}
		binary.LittleEndian.PutUint64(block, uint64(off/seqBlock))
		b := block[:min(int64(seqBlock), size-off)]
		if _, err := f.Write(b); err != nil {
			f.Close()
			return 0, 0, err
		}
		sum = crc32.Update(sum, castagnoli, b)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, 0, fmt.Errorf("fsync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return 0, 0, err
	}
	return time.Since(start), sum, nil
}

// readSeq reads path to its end in seqBlock reads and checks it against
// the size and CRC-32C writeSeq reported.
func readSeq(ctx context.Context, path string, size int64, want uint32, block []byte) (time.Duration, error) {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	var sum uint32
	for ctx.Err() == nil {
		k, err := io.ReadFull(f, block)
		sum = crc32.Update(sum, castagnoli, block[:k])
		n += int64(k)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	if n != size || sum != want {
		return elapsed, fmt.Errorf("read back %d bytes with CRC %08x, wrote %d with %08x", n, sum, size, want)
	}
	return elapsed, nil
}

// dropCaches empties the page cache, so a read comes from the disk (and,
// through a mount, from its server) rather than from memory.
func dropCaches() error {
	syscall.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200)
}

// kernelCacheExpiry outlasts the attribute and entry caches of both mounts
// (1 s), so that every stat is a LOOKUP the file system answers, not a
// hit in the kernel's cache: B8 is about the round trips.
const kernelCacheExpiry = 1500 * time.Millisecond

// metaResults are the three metadata phases of one run.
type metaResults struct{ create, stat, unlink phaseResult }

// runMeta creates files empty files under dir with workers workers, each
// in its own subdirectory (mdtest-easy), then stats them, then unlinks
// them, timing each phase. Creates are open(O_CREAT|O_EXCL)+close, as
// mdtest's; the syscalls are raw so that no Go runtime work is timed. The
// stats start once the kernel's caches of the creates have expired.
func runMeta(ctx context.Context, dir string, files, workers int) (metaResults, error) {
	paths := make([][]string, workers)
	for w := range workers {
		wd := filepath.Join(dir, fmt.Sprintf("w%d", w))
		if err := os.MkdirAll(wd, 0o755); err != nil {
			return metaResults{}, err
		}
		for j := range share(files, workers, w) {
			paths[w] = append(paths[w], filepath.Join(wd, fmt.Sprintf("f%d", j)))
		}
	}
	var r metaResults
	r.create = runPhase(ctx, workers, files, func(_ context.Context, w, j int) error {
		fd, err := syscall.Open(paths[w][j], syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o644)
		if err != nil {
			return &os.PathError{Op: "create", Path: paths[w][j], Err: err}
		}
		return syscall.Close(fd)
	})
	sleepCtx(ctx, kernelCacheExpiry)
	r.stat = runPhase(ctx, workers, files, func(_ context.Context, w, j int) error {
		var st syscall.Stat_t
		if err := syscall.Lstat(paths[w][j], &st); err != nil {
			return &os.PathError{Op: "lstat", Path: paths[w][j], Err: err}
		}
		return nil
	})
	r.unlink = runPhase(ctx, workers, files, func(_ context.Context, w, j int) error {
		if err := syscall.Unlink(paths[w][j]); err != nil {
			return &os.PathError{Op: "unlink", Path: paths[w][j], Err: err}
		}
		return nil
	})
	return r, ctx.Err()
}
