package fusefs

import (
	"context"
	"fmt"
	"time"

	"github.com/geomds/geomds/client"
	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Options shape a mount.
type Options struct {
	// Site and Consistency record how the client was configured (the
	// mount command builds its client from them). A Client's routing and
	// read level are fixed by its Config; Mount cannot change them.
	Site        string
	Consistency pb.Consistency
	// AttrTimeout and EntryTimeout are how long the kernel caches
	// attributes and dentries (default 1 s; negative = not at all).
	AttrTimeout  time.Duration
	EntryTimeout time.Duration
	FsName       string // the mount's source name (default "geomds")
	AllowOther   bool   // let other users in (needs user_allow_other for non-root)
	Debug        bool   // log every FUSE request
}

const (
	defaultCacheTimeout = time.Second
	maxWrite            = 1 << 20 // bytes per FUSE read/write request
	rootIno             = 1
)

func (o Options) withDefaults() Options {
	if o.AttrTimeout == 0 {
		o.AttrTimeout = defaultCacheTimeout
	}
	if o.EntryTimeout == 0 {
		o.EntryTimeout = defaultCacheTimeout
	}
	o.AttrTimeout, o.EntryTimeout = max(o.AttrTimeout, 0), max(o.EntryTimeout, 0)
	if o.FsName == "" {
		o.FsName = "geomds"
	}
	return o
}

// fileSystem is what every node of one mount shares.
type fileSystem struct {
	c      *client.Client
	opts   Options
	groups *groupCache
}

// Mount mounts the namespace of c at dir and serves it until the returned
// server is unmounted (the caller unmounts: Server.Unmount). It checks first
// that the root is reachable, within ctx.
func Mount(ctx context.Context, dir string, c *client.Client, opts Options) (*fuse.Server, error) {
	opts = opts.withDefaults()
	if _, err := c.GetAttr(ctx, rootIno); err != nil {
		return nil, fmt.Errorf("mount %s: %w", dir, err)
	}
	fsys := &fileSystem{c: c, opts: opts, groups: newGroupCache()}
	srv, err := fs.Mount(dir, &node{fsys: fsys}, fsys.options())
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", dir, err)
	}
	return srv, nil
}

func (fsys *fileSystem) options() *fs.Options {
	o := fsys.opts
	mo := fuse.MountOptions{
		FsName:     o.FsName,
		Name:       "geomds",
		MaxWrite:   maxWrite,
		AllowOther: o.AllowOther,
		Debug:      o.Debug,
		// O_TRUNC comes with OPEN, so the truncation is part of the Open
		// command instead of a separate SETATTR.
		ExtraCapabilities: fuse.CAP_ATOMIC_O_TRUNC | killPrivCaps,
	}
	return &fs.Options{
		MountOptions:    mo,
		AttrTimeout:     &o.AttrTimeout,
		EntryTimeout:    &o.EntryTimeout,
		NullPermissions: true, // mode 0 stays 0
		RootStableAttr:  &fs.StableAttr{Ino: rootIno},
	}
}

// killPrivCaps is FUSE_HANDLE_KILLPRIV: the namespace clears setuid and
// setgid itself on write (SetLayout), truncate and chown (SetAttr), so the
// kernel need not fetch fresh attributes (a GETATTR) before every chown to
// compute the mode that clears them. The kernel still removes
// security.capability itself (its reads of it are answered by capCache);
// FUSE_HANDLE_KILLPRIV_V2 would hand that to the server, which the
// namespace does not do (docs/POSIX.md).
const killPrivCaps = fuse.CAP_HANDLE_KILLPRIV
