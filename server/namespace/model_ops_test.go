package namespace

import (
	"slices"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"pgregory.net/rapid"
)

func loc1(p string) *pb.Loc { return &pb.Loc{Path: p} }

// modelOp draws operation number op, applies it to the model and returns
// the model's errno and the command for the namespace (nil when the
// operation was fully handled here).
func (h *modelHarness) modelOp(op int, c cred) (pb.Errno, *pb.Command) {
	rt, m := h.rt, h.m
	perm := rapid.SampledFrom(modelPerms).Draw(rt, "perm")
	switch op {
	case 0, 1:
		p := h.path("p")
		return m.mkdir(c, p, perm), &pb.Command{Op: &pb.Command_Mkdir{Mkdir: &pb.Mkdir{Loc: loc1(p), Mode: perm}}}
	case 2, 3:
		p := h.path("p")
		return m.create(c, p, perm), &pb.Command{Op: &pb.Command_Mknod{Mknod: &pb.Mknod{Loc: loc1(p), Mode: sIFREG | perm, Exclusive: true}}}
	case 4:
		p := h.path("p")
		return m.unlink(c, p), &pb.Command{Op: &pb.Command_Unlink{Unlink: &pb.Unlink{Loc: loc1(p)}}}
	case 5:
		p := h.path("p")
		return m.rmdir(c, p), &pb.Command{Op: &pb.Command_Rmdir{Rmdir: &pb.Rmdir{Loc: loc1(p)}}}
	case 6, 7:
		from, to := h.path("from"), h.path("to")
		flags := uint32(rapid.SampledFrom([]int{0, 0, 0, 1, 2, 3}).Draw(rt, "flags"))
		return m.rename(c, from, to, flags), &pb.Command{Op: &pb.Command_Rename{Rename: &pb.Rename{From: loc1(from), To: loc1(to), Flags: flags}}}
	case 8:
		src, p := h.path("src"), h.path("p")
		return m.link(c, src, p), &pb.Command{Op: &pb.Command_Link{Link: &pb.Link{Path: src, NewLoc: loc1(p)}}}
	case 9:
		target, p := h.path("target"), h.path("p")
		if rapid.Bool().Draw(rt, "relative") {
			target = target[1:]
		}
		return m.symlink(c, target, p), &pb.Command{Op: &pb.Command_Symlink{Symlink: &pb.Symlink{Target: target, Loc: loc1(p)}}}
	case 10:
		p := h.path("p")
		return m.chmod(c, p, perm), &pb.Command{Op: &pb.Command_SetAttr{SetAttr: &pb.SetAttr{Path: p, Valid: setMode, Mode: perm}}}
	case 11:
		p := h.path("p")
		size := uint64(rapid.IntRange(0, 3).Draw(rt, "size")) * 100
		return m.truncate(c, p, size), &pb.Command{Op: &pb.Command_SetAttr{SetAttr: &pb.SetAttr{Path: p, Valid: setSize, Size: size}}}
	case 12:
		return h.xattrOp(c)
	case 13:
		return h.openOp(c)
	default:
		p := h.path("p")
		if rapid.Bool().Draw(rt, "rmr") {
			return m.removeAll(c, p), &pb.Command{Op: &pb.Command_RemoveAll{RemoveAll: &pb.RemoveAll{Path: p}}}
		}
		return m.mkdirAll(c, p, perm), &pb.Command{Op: &pb.Command_MkdirAll{MkdirAll: &pb.MkdirAll{Path: p, Mode: perm}}}
	}
}

func (h *modelHarness) xattrOp(c cred) (pb.Errno, *pb.Command) {
	p := h.path("p")
	name := rapid.SampledFrom([]string{"user.x", "user.y"}).Draw(h.rt, "xname")
	if rapid.IntRange(0, 2).Draw(h.rt, "rmx") == 0 {
		return h.m.removeXattr(c, p, name), &pb.Command{Op: &pb.Command_RemoveXattr{RemoveXattr: &pb.RemoveXattr{Path: p, Name: name}}}
	}
	flags := uint32(rapid.IntRange(0, 2).Draw(h.rt, "xflags"))
	return h.m.setXattr(c, p, name, flags), &pb.Command{Op: &pb.Command_SetXattr{SetXattr: &pb.SetXattr{Path: p, Name: name, Value: []byte("v"), Flags: flags}}}
}

// openOp opens a path (resolved by the caller, as a client would) or
// releases a handle, all in client 1's session.
func (h *modelHarness) openOp(c cred) (pb.Errno, *pb.Command) {
	if rapid.Bool().Draw(h.rt, "release") {
		hs := []uint64{999}
		for k := range h.m.handles {
			hs = append(hs, k)
		}
		slices.Sort(hs)
		hd := rapid.SampledFrom(hs).Draw(h.rt, "handle")
		return h.m.release(hd), &pb.Command{ClientId: 1, Op: &pb.Command_Release{Release: &pb.Release{Handle: hd}}}
	}
	p := h.path("p")
	flags := uint32(rapid.IntRange(0, 2).Draw(h.rt, "oflags"))
	pc := &pb.Creds{Uid: c.uid, Gid: c.gid}
	a, err := Resolve(h.tx, pc, p, true)
	n, want := h.m.walk(c, p, true)
	if ErrnoOf(err) != want {
		h.rt.Fatalf("resolve %s as %d: namespace %v, model %v", p, c.uid, err, want)
	}
	if err != nil {
		return want, nil
	}
	h.lastOpened, want = h.m.open(c, p, flags)
	_ = n
	return want, &pb.Command{ClientId: 1, Op: &pb.Command_Open{Open: &pb.Open{Ino: a.Ino, Flags: flags}}}
}
