package namespace

import pb "github.com/geomds/geomds/proto/geomdspb"

// Stats are the shard's counters, maintained by every mutation.
type Stats struct {
	Inodes uint64 // all inodes, / and orphans included
	Files  uint64 // non-directory inodes
	Dirs   uint64 // directories, / included
	Bytes  uint64 // sum of regular file sizes
}

// StatFs returns the shard's counters (one read).
func StatFs(r Reader) (Stats, error) {
	m, err := readMeta(r)
	if err != nil {
		return Stats{}, err
	}
	return Stats{Inodes: m.inodes, Files: m.files, Dirs: m.dirs, Bytes: m.bytes}, nil
}

// MaxSiteName bounds a home site name.
const MaxSiteName = 255

func (a *applier) setHome(op *pb.SetHome) (*pb.Result, error) {
	switch {
	case !a.c.root():
		return nil, fail(pb.Errno_EPERM, "only root sets the home site")
	case len(op.GetSite()) > MaxSiteName:
		return nil, fail(pb.Errno_EINVAL, "site name too long")
	case op.GetSite() == "":
		return &pb.Result{}, a.tx.Delete(keyHome)
	}
	return &pb.Result{}, a.tx.Put(keyHome, []byte(op.GetSite()))
}

// HomeSite returns the shard's home site ("" if unset).
func HomeSite(r Reader) (string, error) {
	v, _, err := r.Get(keyHome)
	return string(v), err
}
