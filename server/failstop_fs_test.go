package server_test

import (
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// The fail-stop suite's disk: a node's Pebble runs on vfs.NewCrashableMem
// (which keeps what was synced apart from what was only written, so a
// power loss is replayed by CrashClone) behind faultFS, which makes the
// WAL's syncs fail, or lie, on demand.

// faultMode is what a WAL sync does.
type faultMode int32

const (
	faultOff  faultMode = iota // sync normally
	faultFail                  // fail with EIO, as fsync does when the disk lost the write
	faultLie                   // report success without syncing: a node that ignores the failure
)

func (m faultMode) String() string {
	switch m {
	case faultFail:
		return "fail"
	case faultLie:
		return "lie"
	}
	return "off"
}

// walFault is one node's switch, flipped by the test while the node runs.
type walFault struct {
	mode  atomic.Int32              // a faultMode
	hits  atomic.Int64              // syncs failed or lied about
	first atomic.Pointer[time.Time] // when the first hit happened; nil before
}

func (f *walFault) set(m faultMode) { f.mode.Store(int32(m)) }

// firstHit is when the first WAL sync failed or was skipped (zero if none).
func (f *walFault) firstHit() time.Time {
	if t := f.first.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

func (f *walFault) hit() {
	now := time.Now()
	f.first.CompareAndSwap(nil, &now)
	f.hits.Add(1)
}

// sync runs a sync of the file at path through the fault.
//
// faultFail fails only the syncs made by the WAL writer's flush loop: those
// a commit waits for, which Pebble reports to the committer (the engine
// turns that into its sticky error and the replica stops). The WAL writer
// also syncs when it is closed at a WAL rotation, on the committing
// goroutine; a failure there makes Pebble panic with a plain error after
// releasing a mutex its caller releases again, a runtime fatal error that
// no recover can stop, which would end the test binary rather than the
// node. A real disk can fail that sync too; the process then dies, which
// is also a stop, but not one an in-process test can observe.
func (f *walFault) sync(path string, inner func() error) error {
	if !isWAL(path) {
		return inner()
	}
	switch faultMode(f.mode.Load()) {
	case faultFail:
		if onStack(walFlushLoop) {
			f.hit()
			return &os.PathError{Op: "sync", Path: path, Err: syscall.EIO}
		}
	case faultLie:
		f.hit()
		return nil
	}
	return inner()
}

func isWAL(path string) bool { return strings.HasSuffix(path, ".log") }

// walFlushLoop is the function of Pebble's WAL writer that syncs for
// committers. If a Pebble upgrade renames it, faultFail never fires and the
// suite fails with "did not stop" (never silently passes).
const walFlushLoop = "/record.(*LogWriter).flushPending"

// onStack reports whether fn is a caller of the current goroutine.
func onStack(fn string) bool {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		fr, more := frames.Next()
		if strings.HasSuffix(fr.Function, fn) {
			return true
		}
		if !more {
			return false
		}
	}
}

// faultFS wraps the files Pebble writes so their syncs go through fault.
type faultFS struct {
	vfs.FS
	fault *walFault
}

var _ vfs.FS = faultFS{}

func (fs faultFS) wrap(f vfs.File, name string, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return faultFile{File: f, path: name, fault: fs.fault}, nil
}

func (fs faultFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return fs.wrap(f, name, err)
}

func (fs faultFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, c, opts...)
	return fs.wrap(f, name, err)
}

func (fs faultFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, c)
	return fs.wrap(f, newname, err)
}

func (fs faultFS) Unwrap() vfs.FS { return fs.FS }

type faultFile struct {
	vfs.File
	path  string
	fault *walFault
}

func (f faultFile) Sync() error     { return f.fault.sync(f.path, f.File.Sync) }
func (f faultFile) SyncData() error { return f.fault.sync(f.path, f.File.SyncData) }

func (f faultFile) SyncTo(length int64) (bool, error) {
	full := false
	err := f.fault.sync(f.path, func() (err error) {
		full, err = f.File.SyncTo(length)
		return err
	})
	return full, err
}
