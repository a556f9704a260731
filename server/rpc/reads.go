package rpc

import (
	"context"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"github.com/geomds/geomds/server/namespace"
	"github.com/geomds/geomds/server/storage"
)

// barrier waits for the read barrier that opts ask for and returns the
// consistency actually served and the staleness bound of the answer.
func (s *Server) barrier(ctx context.Context, opts *pb.ReadOptions) (pb.Consistency, time.Duration, error) {
	switch opts.GetConsistency() {
	case pb.Consistency_SESSION:
		// Any replica serves once it has applied what the client has seen.
		if err := s.cfg.Shard.WaitApplied(ctx, opts.GetMinApplied()); err != nil {
			return 0, 0, err
		}
		return pb.Consistency_SESSION, s.sinceLeader(), nil
	case pb.Consistency_STALE:
		since := s.sinceLeader()
		if max := time.Duration(opts.GetMaxStalenessNs()); max > 0 && since <= max {
			return pb.Consistency_STALE, since, nil
		}
	}
	if err := s.QuorumErr(); err != nil {
		return 0, 0, err
	}
	if _, err := s.cfg.Shard.ReadIndex(ctx); err != nil {
		return 0, 0, err
	}
	return pb.Consistency_STRONG, 0, nil
}

// sinceLeader bounds how old this replica's data may be.
func (s *Server) sinceLeader() time.Duration {
	d := s.cfg.Now().Sub(s.cfg.Shard.LastLeaderContact())
	if d < 0 {
		return 0
	}
	return d
}

// read runs fn on a consistent view of local storage after the barrier.
func (s *Server) read(ctx context.Context, opts *pb.ReadOptions, fn func(v *storage.View) error) (*pb.ReplyMeta, error) {
	c, stale, err := s.barrier(ctx, opts)
	if err != nil {
		return nil, toStatus(err, s.leaderName())
	}
	meta := s.meta(c, stale)
	meta.WanRoundTrips = s.readRounds(c)
	v, err := s.cfg.Engine.View(shardID)
	if err != nil {
		return nil, toStatus(err, "")
	}
	defer v.Close()
	meta.AppliedIndex = v.Applied()
	if err := fn(v); err != nil {
		return nil, toStatus(err, "")
	}
	return meta, nil
}

// readTarget is read for a request naming its inode by (ino, path): the
// path, when set, is checked and then resolved on the same view fn reads.
func (s *Server) readTarget(ctx context.Context, opts *pb.ReadOptions, ino uint64, path string, follow bool,
	fn func(v *storage.View, ino uint64) error) (*pb.ReplyMeta, error) {
	if path != "" {
		if err := checkPath(path); err != nil {
			return nil, err
		}
	}
	return s.read(ctx, opts, func(v *storage.View) error {
		if path != "" {
			a, err := namespace.Resolve(v, opts.GetCreds(), path, follow)
			if err != nil {
				return err
			}
			ino = a.Ino
		}
		return fn(v, ino)
	})
}

func (s *Server) Lookup(ctx context.Context, req *pb.LookupRequest) (*pb.AttrReply, error) {
	if err := checkName(req.GetName()); err != nil {
		return nil, err
	}
	out := &pb.AttrReply{}
	meta, err := s.read(ctx, req.GetRead(), func(v *storage.View) (err error) {
		out.Attr, err = namespace.Lookup(v, req.GetRead().GetCreds(), req.GetParent(), req.GetName())
		return err
	})
	out.Meta = meta
	return out, err
}

func (s *Server) GetAttr(ctx context.Context, req *pb.GetAttrRequest) (*pb.AttrReply, error) {
	out := &pb.AttrReply{}
	meta, err := s.readTarget(ctx, req.GetRead(), req.GetIno(), req.GetPath(), !req.GetNofollow(), func(v *storage.View, ino uint64) (err error) {
		out.Attr, err = namespace.GetAttr(v, ino)
		return err
	})
	out.Meta = meta
	return out, err
}

// readDirLimit bounds one page (the client asks again with the cursor).
const readDirLimit = 1024

func (s *Server) ReadDir(ctx context.Context, req *pb.ReadDirRequest) (*pb.ReadDirReply, error) {
	limit := int(req.GetLimit())
	if limit <= 0 || limit > readDirLimit {
		limit = readDirLimit
	}
	out := &pb.ReadDirReply{}
	meta, err := s.readTarget(ctx, req.GetRead(), req.GetIno(), req.GetPath(), true, func(v *storage.View, ino uint64) (err error) {
		out.Entries, out.NextCursor, out.Eof, err = namespace.ReadDir(v, req.GetRead().GetCreds(), ino, req.GetCursor(), limit, req.GetPlus())
		return err
	})
	out.Meta = meta
	return out, err
}

func (s *Server) ReadLink(ctx context.Context, req *pb.ReadLinkRequest) (*pb.ReadLinkReply, error) {
	out := &pb.ReadLinkReply{}
	meta, err := s.readTarget(ctx, req.GetRead(), req.GetIno(), req.GetPath(), false, func(v *storage.View, ino uint64) (err error) {
		out.Target, err = namespace.ReadLink(v, ino)
		return err
	})
	out.Meta = meta
	return out, err
}

func (s *Server) GetXattr(ctx context.Context, req *pb.XattrRequest) (*pb.XattrReply, error) {
	out := &pb.XattrReply{}
	meta, err := s.readTarget(ctx, req.GetRead(), req.GetIno(), req.GetPath(), true, func(v *storage.View, ino uint64) (err error) {
		out.Value, err = namespace.GetXattr(v, req.GetRead().GetCreds(), ino, req.GetName())
		return err
	})
	out.Meta = meta
	return out, err
}

func (s *Server) ListXattr(ctx context.Context, req *pb.XattrRequest) (*pb.XattrReply, error) {
	out := &pb.XattrReply{}
	meta, err := s.readTarget(ctx, req.GetRead(), req.GetIno(), req.GetPath(), true, func(v *storage.View, ino uint64) (err error) {
		out.Names, err = namespace.ListXattr(v, req.GetRead().GetCreds(), ino)
		return err
	})
	out.Meta = meta
	return out, err
}

func (s *Server) StatFs(ctx context.Context, req *pb.StatFsRequest) (*pb.StatFsReply, error) {
	out := &pb.StatFsReply{}
	meta, err := s.read(ctx, req.GetRead(), func(v *storage.View) error {
		st, err := namespace.StatFs(v)
		out.Inodes, out.Files, out.Dirs, out.Bytes = st.Inodes, st.Files, st.Dirs, st.Bytes
		return err
	})
	out.Meta = meta
	return out, err
}

func (s *Server) GetLayout(ctx context.Context, req *pb.GetLayoutRequest) (*pb.GetLayoutReply, error) {
	out := &pb.GetLayoutReply{}
	meta, err := s.readTarget(ctx, req.GetRead(), req.GetIno(), req.GetPath(), true, func(v *storage.View, ino uint64) (err error) {
		out.Attr, out.Extents, out.Chunks, err = namespace.GetLayout(v, ino)
		return err
	})
	out.Meta = meta
	return out, err
}
