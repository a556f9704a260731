package namespace

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/protobuf/proto"
)

func loc(p string) *pb.Loc { return &pb.Loc{Path: p} }

func mode(l line, def uint32) uint32 { return uint32(l.num("mode", uint64(def))) }

var nodeTypes = map[string]uint32{"file": sIFREG, "fifo": sIFIFO, "sock": sIFSOCK, "chr": sIFCHR,
	"blk": sIFBLK, "dir": sIFDIR, "symlink": sIFLNK, "none": 0}

// command builds the op of a mutation line; nil for unknown commands.
func (s *shell) command(l line) func(*pb.Command) {
	a0, a1 := l.arg(0), l.arg(1)
	switch l.cmd {
	case "mkdir":
		return func(c *pb.Command) { c.Op = &pb.Command_Mkdir{Mkdir: &pb.Mkdir{Loc: loc(a0), Mode: mode(l, 0o755)}} }
	case "mkdir-p":
		return func(c *pb.Command) {
			c.Op = &pb.Command_MkdirAll{MkdirAll: &pb.MkdirAll{Path: a0, Mode: mode(l, 0o755)}}
		}
	case "create", "mknod":
		t := nodeTypes[l.opt["type"]]
		if l.opt["type"] == "" {
			t = sIFREG
		}
		op := &pb.Mknod{Loc: loc(a0), Mode: t | mode(l, 0o644), Rdev: l.num("rdev", 0),
			Exclusive: l.has("excl"), Open: l.has("open"), Truncate: l.has("trunc")}
		return func(c *pb.Command) { c.Op = &pb.Command_Mknod{Mknod: op} }
	case "unlink":
		return func(c *pb.Command) { c.Op = &pb.Command_Unlink{Unlink: &pb.Unlink{Loc: loc(a0)}} }
	case "rmdir":
		return func(c *pb.Command) { c.Op = &pb.Command_Rmdir{Rmdir: &pb.Rmdir{Loc: loc(a0)}} }
	case "rm-r":
		op := &pb.RemoveAll{Path: a0, MaxEntries: uint32(l.num("max", 0))}
		return func(c *pb.Command) { c.Op = &pb.Command_RemoveAll{RemoveAll: op} }
	case "symlink":
		return func(c *pb.Command) { c.Op = &pb.Command_Symlink{Symlink: &pb.Symlink{Target: a0, Loc: loc(a1)}} }
	case "link":
		return func(c *pb.Command) { c.Op = &pb.Command_Link{Link: &pb.Link{Path: a0, NewLoc: loc(a1)}} }
	case "rename":
		var f uint32
		if l.has("noreplace") {
			f |= renameNoReplace
		}
		if l.has("exchange") {
			f |= renameExchange
		}
		f |= uint32(l.num("flags", 0))
		return func(c *pb.Command) {
			c.Op = &pb.Command_Rename{Rename: &pb.Rename{From: loc(a0), To: loc(a1), Flags: f}}
		}
	}
	return s.commandAttr(l)
}

func (s *shell) commandAttr(l line) func(*pb.Command) {
	a0, a1, a2 := l.arg(0), l.arg(1), l.arg(2)
	setattr := func(op *pb.SetAttr) func(*pb.Command) {
		return func(c *pb.Command) { c.Op = &pb.Command_SetAttr{SetAttr: op} }
	}
	switch l.cmd {
	case "chmod":
		m, _ := strconv.ParseUint(a0, 8, 32)
		return setattr(&pb.SetAttr{Path: a1, Valid: setMode, Mode: uint32(m)})
	case "chown":
		op := &pb.SetAttr{Path: a1}
		u, g, _ := strings.Cut(a0, ":")
		if u != "" {
			n, _ := strconv.ParseUint(u, 10, 32)
			op.Valid, op.Uid = op.Valid|setUID, uint32(n)
		}
		if g != "" {
			n, _ := strconv.ParseUint(g, 10, 32)
			op.Valid, op.Gid = op.Valid|setGID, uint32(n)
		}
		return setattr(op)
	case "truncate":
		n, _ := strconv.ParseUint(a1, 10, 64)
		return setattr(&pb.SetAttr{Ino: s.resolveIno(a0, true), Valid: setSize, Size: n, Handle: s.handleArg(l)})
	case "utimes":
		op := &pb.SetAttr{Path: a0, Valid: uint32(l.num("valid", 0)), AtimeNs: int64(l.num("atime", 0)), MtimeNs: int64(l.num("mtime", 0))}
		if l.has("now") {
			op.Valid |= setAtimeNow | setMtimeNow
		}
		if _, ok := l.opt["mtime"]; ok {
			op.Valid |= setMtime
		}
		if _, ok := l.opt["atime"]; ok {
			op.Valid |= setAtime
		}
		return setattr(op)
	case "setxattr":
		var f uint32
		if l.has("create") {
			f = xattrCreate
		}
		if l.has("replace") {
			f |= xattrReplace
		}
		f |= uint32(l.num("flags", 0))
		val := a2
		if n, ok := l.opt["size"]; ok {
			k, _ := strconv.Atoi(n)
			val = strings.Repeat("v", k)
		}
		return func(c *pb.Command) {
			c.Op = &pb.Command_SetXattr{SetXattr: &pb.SetXattr{Path: a0, Name: a1, Value: []byte(val), Flags: f}}
		}
	case "rmxattr":
		return func(c *pb.Command) { c.Op = &pb.Command_RemoveXattr{RemoveXattr: &pb.RemoveXattr{Path: a0, Name: a1}} }
	}
	return s.commandSession(l)
}

func (s *shell) handleArg(l line) uint64 {
	if h, ok := l.opt["h"]; ok {
		if v, ok := s.handles[h]; ok {
			return v
		}
		n, _ := strconv.ParseUint(h, 10, 64)
		return n
	}
	return 0
}

var openFlags = map[string]uint32{"rdonly": oRdOnly, "wronly": oWrOnly, "rdwr": oRdWr, "bad": 3}

func (s *shell) commandSession(l line) func(*pb.Command) {
	a0 := l.arg(0)
	switch l.cmd {
	case "open":
		f := openFlags[l.opt["flags"]]
		if l.has("trunc") {
			f |= oTrunc
		}
		ino := s.resolveIno(a0, true)
		return func(c *pb.Command) { c.Op = &pb.Command_Open{Open: &pb.Open{Ino: ino, Flags: f}} }
	case "release": // release H [H...]: several handles in one command
		var hs []uint64
		for _, a := range l.args {
			hs = append(hs, s.handleArg(line{opt: map[string]string{"h": a}}))
		}
		return func(c *pb.Command) { c.Op = &pb.Command_Release{Release: &pb.Release{Handle: hs[0], More: hs[1:]}} }
	case "keepalive":
		d := s.duration(l.opt["timeout"])
		return func(c *pb.Command) { c.Op = &pb.Command_KeepAlive{KeepAlive: &pb.KeepAlive{TimeoutNs: d}} }
	case "close-session":
		return func(c *pb.Command) { c.Op = &pb.Command_CloseSession{CloseSession: &pb.CloseSession{}} }
	case "noop":
		return func(c *pb.Command) { c.Op = &pb.Command_Noop{Noop: &pb.Noop{}} }
	case "sethome":
		return func(c *pb.Command) { c.Op = &pb.Command_SetHome{SetHome: &pb.SetHome{Site: a0}} }
	case "drop-chunks":
		ids := l.args
		return func(c *pb.Command) { c.Op = &pb.Command_DropChunks{DropChunks: &pb.DropChunks{Ids: ids}} }
	case "sweep-chunks":
		site, ids := l.opt["site"], l.args
		return func(c *pb.Command) {
			c.Op = &pb.Command_SweepChunks{SweepChunks: &pb.SweepChunks{Site: site, Ids: ids}}
		}
	case "layout":
		return s.commandLayout(l)
	}
	return nil
}

// commandLayout: layout PATH size=N [h=H] OFF:LEN:CHUNK[@COFF] OFF:LEN:inline ... new=ID:SIZE,ID:SIZE
// [merge] [cut=N]
// [then-mode=0MODE] [then-uid=U] [then-mtime=NS] [then-valid=BITS] (the attribute change it carries)
func (s *shell) commandLayout(l line) func(*pb.Command) {
	op := &pb.SetLayout{Ino: s.resolveIno(l.arg(0), true), Size: l.num("size", 0), Handle: s.handleArg(l),
		Merge: l.has("merge")}
	if _, ok := l.opt["cut"]; ok {
		op.Cut = proto.Uint64(l.num("cut", 0))
	}
	attr := &pb.SetAttr{Valid: uint32(l.num("then-valid", 0))}
	if _, ok := l.opt["then-mode"]; ok {
		attr.Valid, attr.Mode = attr.Valid|setMode, uint32(l.num("then-mode", 0))
	}
	if _, ok := l.opt["then-uid"]; ok {
		attr.Valid, attr.Uid = attr.Valid|setUID, uint32(l.num("then-uid", 0))
	}
	if _, ok := l.opt["then-mtime"]; ok {
		attr.Valid, attr.MtimeNs = attr.Valid|setMtime, int64(l.num("then-mtime", 0))
	}
	if attr.Valid != 0 {
		op.Attr = attr
	}
	for _, e := range l.args[1:] {
		if e == "merge" {
			continue
		}
		var off, n uint64
		var rest string
		if _, err := fmt.Sscanf(strings.ReplaceAll(e, ":", " "), "%d %d %s", &off, &n, &rest); err != nil {
			panic("bad extent " + e)
		}
		ext := &pb.Extent{Offset: off, Length: n}
		if rest == "inline" {
			ext.Inline = []byte(strings.Repeat("x", int(n)))
		} else {
			id, co, _ := strings.Cut(rest, "@")
			ext.Chunk = id
			ext.ChunkOffset, _ = strconv.ParseUint(co, 10, 64)
		}
		op.Extents = append(op.Extents, ext)
	}
	if nc := l.opt["new"]; nc != "" {
		for _, c := range strings.Split(nc, ",") {
			id, sz, _ := strings.Cut(c, ":")
			n, _ := strconv.ParseUint(sz, 10, 64)
			op.NewChunks = append(op.NewChunks, &pb.ChunkRef{Id: id, Size: n})
		}
	}
	return func(c *pb.Command) { c.Op = &pb.Command_SetLayout{SetLayout: op} }
}

func (s *shell) duration(v string) int64 {
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		panic(err)
	}
	return int64(d)
}
