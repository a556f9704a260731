package fusefs

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Each request acts as its caller: uid and gid from the request header,
// supplementary groups from /proc/PID/status (the header lacks them).
// Groups are cached per process briefly, since reading /proc costs more
// than many requests.

const (
	groupsTTL       = time.Second
	groupsCacheSize = 1024
)

type groupsEntry struct {
	uid, gid uint32
	groups   []uint32
	at       time.Time
}

// groupCache remembers the supplementary groups of recent callers.
type groupCache struct {
	mu sync.Mutex
	m  map[uint32]groupsEntry // by pid
}

func newGroupCache() *groupCache { return &groupCache{m: make(map[uint32]groupsEntry)} }

// callCtx returns the ctx a request's client calls use: the caller's
// credentials, and no cancellation (see the package doc).
func (fsys *fileSystem) callCtx(ctx context.Context) context.Context {
	return client.WithCreds(context.WithoutCancel(ctx), fsys.creds(ctx))
}

// of returns the supplementary groups of caller (none when its process is
// gone or is the kernel itself).
func (gc *groupCache) of(caller *fuse.Caller) []uint32 {
	if caller.Pid == 0 {
		return nil
	}
	now := time.Now()
	gc.mu.Lock()
	e, ok := gc.m[caller.Pid]
	gc.mu.Unlock()
	if ok && e.uid == caller.Uid && e.gid == caller.Gid && now.Sub(e.at) < groupsTTL {
		return e.groups
	}
	groups := procGroups(caller.Pid)
	gc.mu.Lock()
	if len(gc.m) >= groupsCacheSize {
		clear(gc.m)
	}
	gc.m[caller.Pid] = groupsEntry{uid: caller.Uid, gid: caller.Gid, groups: groups, at: now}
	gc.mu.Unlock()
	return groups
}

// procGroups reads the Groups line of /proc/PID/status.
func procGroups(pid uint32) []uint32 {
	data, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/status")
	if err != nil {
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("Groups:"))
		if !ok {
			continue
		}
		var groups []uint32
		for _, f := range bytes.Fields(rest) {
			if g, err := strconv.ParseUint(string(f), 10, 32); err == nil {
				groups = append(groups, uint32(g))
			}
		}
		return groups
	}
	return nil
}

// creds returns the credentials a request acts as (root when it carries
// none: the kernel's own requests).
func (fsys *fileSystem) creds(ctx context.Context) *pb.Creds {
	caller, ok := fuse.FromContext(ctx)
	if !ok {
		return &pb.Creds{}
	}
	return &pb.Creds{Uid: caller.Uid, Gid: caller.Gid, Groups: fsys.groups.of(caller)}
}
