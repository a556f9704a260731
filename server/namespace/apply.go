package namespace

import (
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// applier carries one command through Apply.
type applier struct {
	tx   Tx
	cmd  *pb.Command
	now  int64
	c    cred
	meta metaRecord
	// metaDirty says meta must be written back. On a rejection meta is reset
	// to metaSaved (the state after session bookkeeping), so a rejected
	// command changes no counter.
	metaDirty, metaSavedDirty bool
	metaSaved                 metaRecord
	sess                      session
	cluster                   uint64 // the members' lowest command version
	sessionReleases           int    // handles of ended sessions released so far
	kb, vb                    []byte // scratch key and value buffers
	kbuf, vbuf                [96]byte
}

// CommandVersion is the version of the commands this code applies. Version
// 2 added SetLayout.merge and SweepChunks, which a replica of version 1
// would apply differently (it ignores merge, and knows no SweepChunks).
// Version 3 bounds RemoveAll: RemoveAll.max_entries, and the refusal of a
// big tree without it (see MaxRemoveAllEntries). Version 4 bounds a
// session's end (see maxSessionReleases) and a Release's handle count.
// Version 5 adds ReportSpace, the low-space alarm of the member registry.
// Version 6 bounds a client's unacknowledged results (MaxUnackedResults).
const CommandVersion = 6

// ReportSpaceVersion is the version from which the member registry
// (server/fsm) records ReportSpace; below it the namespace refuses it.
const ReportSpaceVersion = 5

// Apply applies one command. Rejections (ENOENT, EEXIST, ...) are returned
// in Result.Errno and write nothing but the exactly-once bookkeeping; the
// error is reserved for storage failures and corrupt state, after which the
// caller must stop rather than continue with a diverged replica.
func Apply(tx Tx, cmd *pb.Command) (*pb.Result, error) {
	return ApplyAt(tx, cmd, CommandVersion)
}

// ApplyAt is Apply in a cluster whose members apply commands of version
// cluster and above (the lowest member's version, which the caller tracks
// in log order): a command of a later version is refused with ENOTSUP, so
// no replica applies what another would apply differently.
func ApplyAt(tx Tx, cmd *pb.Command, cluster uint64) (*pb.Result, error) {
	a := &applier{tx: tx, cmd: cmd, now: cmd.GetTimeNs(), c: credOf(cmd.GetCreds()), cluster: cluster}
	a.kb, a.vb = a.kbuf[:0], a.vbuf[:0]
	m, err := readMeta(tx)
	if err != nil {
		return nil, err
	}
	a.meta = m
	if err := a.expireSessions(); err != nil {
		return nil, err
	}
	if res, err := a.beginSession(); res != nil || err != nil {
		if err == nil {
			err = a.flushMeta()
		}
		return res, err
	}
	a.metaSaved, a.metaSavedDirty = a.meta, a.metaDirty
	res, err := a.dispatchAt()
	if err != nil {
		rej, ok := isRejection(err)
		if !ok {
			return nil, err
		}
		res = &pb.Result{Errno: rej.Errno, Detail: rej.Detail}
		a.meta, a.metaDirty = a.metaSaved, a.metaSavedDirty
	}
	return res, a.finish(res)
}

// laterVersion is the refusal of a command some replica would not apply as
// this one would. Replicas of two versions refuse it alike, the older one
// because the command has fields it does not know, the newer one because
// the older one is a member; the stored result is the same on both.
const laterVersion = "command of a later version than a member applies"

// dispatchAt refuses a command of a version above the cluster's, or with
// fields this code does not know (a later version's), else dispatches it.
func (a *applier) dispatchAt() (*pb.Result, error) {
	if commandVersion(a.cmd) > a.cluster || hasUnknown(a.cmd.ProtoReflect()) {
		return nil, fail(pb.Errno_ENOTSUP, laterVersion)
	}
	return a.dispatch()
}

// hasUnknown reports whether m, or a message inside it, has fields this
// code does not know.
func hasUnknown(m protoreflect.Message) bool {
	if len(m.GetUnknown()) > 0 {
		return true
	}
	unknown := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Message() == nil || fd.IsMap():
		case fd.IsList():
			for i := 0; i < v.List().Len() && !unknown; i++ {
				unknown = hasUnknown(v.List().Get(i).Message())
			}
		default:
			unknown = hasUnknown(v.Message())
		}
		return !unknown
	})
	return unknown
}

// commandVersion is the command version cmd needs.
func commandVersion(cmd *pb.Command) uint64 {
	switch op := cmd.GetOp().(type) {
	case *pb.Command_SetLayout:
		if op.SetLayout.GetMerge() {
			return 2
		}
	case *pb.Command_SweepChunks:
		return 2
	case *pb.Command_RemoveAll:
		if op.RemoveAll.GetMaxEntries() > 0 {
			return 3
		}
	case *pb.Command_ReportSpace:
		return ReportSpaceVersion
	}
	return 1
}

func (a *applier) dispatch() (*pb.Result, error) {
	switch op := a.cmd.GetOp().(type) {
	case *pb.Command_Mkdir:
		return a.mkdir(op.Mkdir)
	case *pb.Command_MkdirAll:
		return a.mkdirAll(op.MkdirAll)
	case *pb.Command_Mknod:
		return a.mknod(op.Mknod)
	case *pb.Command_Symlink:
		return a.symlink(op.Symlink)
	case *pb.Command_Link:
		return a.link(op.Link)
	case *pb.Command_Unlink:
		return a.unlink(op.Unlink)
	case *pb.Command_Rmdir:
		return a.rmdir(op.Rmdir)
	case *pb.Command_RemoveAll:
		return a.removeAll(op.RemoveAll)
	case *pb.Command_Rename:
		return a.rename(op.Rename)
	case *pb.Command_SetAttr:
		return a.setAttr(op.SetAttr)
	case *pb.Command_SetXattr:
		return a.setXattr(op.SetXattr)
	case *pb.Command_RemoveXattr:
		return a.removeXattr(op.RemoveXattr)
	default:
		return a.dispatchMore()
	}
}

func (a *applier) dispatchMore() (*pb.Result, error) {
	switch op := a.cmd.GetOp().(type) {
	case *pb.Command_Open:
		return a.open(op.Open)
	case *pb.Command_Release:
		return a.release(op.Release)
	case *pb.Command_KeepAlive:
		return a.keepAlive(op.KeepAlive)
	case *pb.Command_CloseSession:
		return a.closeSession()
	case *pb.Command_SetLayout:
		return a.setLayout(op.SetLayout)
	case *pb.Command_DropChunks:
		return a.dropChunks(op.DropChunks)
	case *pb.Command_SweepChunks:
		return a.sweepChunks(op.SweepChunks)
	case *pb.Command_SetHome:
		return a.setHome(op.SetHome)
	case *pb.Command_Noop:
		return &pb.Result{}, nil
	}
	return nil, fail(pb.Errno_ENOTSUP, laterVersion) // an op of a later version (hasUnknown saw it first)
}

// Small write steps; each returns storage errors to the caller.

func (a *applier) putInode(n *inode) error {
	a.vb = n.encode(a.vb)
	return a.tx.Put(inodeKey(a.kb, n.ino), a.vb)
}

func (a *applier) getInode(ino Ino) (inode, error) { return mustInode(a.tx, a.kb, ino) }

// loadInode reads an inode the state says exists (write phase): a missing
// one is corruption, never a rejection, since writes may already be done.
func (a *applier) loadInode(ino Ino) (inode, error) {
	n, ok, err := getInode(a.tx, a.kb, ino)
	if err == nil && !ok {
		err = corrupt("reference to missing inode")
	}
	return n, err
}

func (a *applier) walker() *walker { return &walker{r: a.tx, c: a.c, kb: a.kb} }

func (a *applier) countInode(n *inode, d int) {
	a.meta.count(n.mode, n.size, d)
	a.metaDirty = true
}

// resizeCount records a regular file's size change in the byte counter.
func (a *applier) resizeCount(n *inode, newSize uint64) {
	if isReg(n.mode) {
		a.meta.bytes += newSize - n.size
		a.metaDirty = true
	}
}

func attrResult(n *inode) *pb.Result { return &pb.Result{Attr: n.attr()} }
