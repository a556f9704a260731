package namespace

import (
	"fmt"
	"strings"
)

// read runs the non-mutating shell commands.
func (s *shell) read(l line) (string, bool) {
	c, a0 := l.creds(), l.arg(0)
	switch l.cmd {
	case "stat", "lstat":
		a, err := Resolve(s.tx, c, a0, l.cmd == "stat")
		if err != nil {
			return errOr(err, ""), true
		}
		return fmtAttr(a), true
	case "lookup":
		a, err := Lookup(s.tx, c, s.resolveIno(a0, true), l.arg(1))
		if err != nil {
			return errOr(err, ""), true
		}
		return fmtAttr(a), true
	case "ls":
		return s.ls(l), true
	case "readlink":
		t, err := ReadLink(s.tx, s.resolveIno(a0, false))
		return errOr(err, t), true
	case "getxattr":
		v, err := GetXattr(s.tx, c, s.resolveIno(a0, true), l.arg(1))
		if len(v) > 32 {
			return errOr(err, fmt.Sprintf("<%d bytes>", len(v))), true
		}
		return errOr(err, fmt.Sprintf("%q", v)), true
	case "listxattr":
		v, err := ListXattr(s.tx, c, s.resolveIno(a0, true))
		return errOr(err, "["+strings.Join(v, " ")+"]"), true
	case "statfs":
		st, err := StatFs(s.tx)
		return errOr(err, fmt.Sprintf("inodes=%d files=%d dirs=%d bytes=%d", st.Inodes, st.Files, st.Dirs, st.Bytes)), true
	case "getlayout":
		return s.getLayout(a0), true
	case "pending":
		refs, err := PendingChunkDeletes(s.tx, "", 0)
		var ids []string
		for _, r := range refs {
			ids = append(ids, r.Id)
		}
		return errOr(err, "["+strings.Join(ids, " ")+"]"), true
	case "home":
		h, err := HomeSite(s.tx)
		return errOr(err, fmt.Sprintf("%q", h)), true
	case "tick":
		s.now += s.duration(a0)
		return "ok", true
	case "tree":
		return s.tree(), true
	case "check":
		return errOr(Check(s.tx), "ok"), true
	}
	return "", false
}

func (s *shell) ls(l line) string {
	ents, _, _, err := ReadDir(s.tx, l.creds(), s.resolveIno(l.arg(0), true), l.opt["after"], int(l.num("limit", 0)), l.has("plus"))
	if err != nil {
		return errOr(err, "")
	}
	var names []string
	for _, e := range ents {
		n := e.Name
		switch e.Mode & sIFMT {
		case sIFDIR:
			n += "/"
		case sIFLNK:
			n += "@"
		}
		if e.Attr != nil {
			n += "(" + fmtAttr(e.Attr) + ")"
		}
		names = append(names, n)
	}
	return "[" + strings.Join(names, " ") + "]"
}

func (s *shell) getLayout(p string) string {
	a, ext, refs, err := GetLayout(s.tx, s.resolveIno(p, true))
	if err != nil {
		return errOr(err, "")
	}
	var parts []string
	for _, e := range ext {
		if e.Chunk == "" {
			parts = append(parts, fmt.Sprintf("%d:%d:inline", e.Offset, e.Length))
		} else {
			parts = append(parts, fmt.Sprintf("%d:%d:%s@%d", e.Offset, e.Length, e.Chunk, e.ChunkOffset))
		}
	}
	var ids []string
	for _, r := range refs {
		ids = append(ids, r.Id)
	}
	return fmt.Sprintf("size=%d [%s] chunks=[%s]", a.Size, strings.Join(parts, " "), strings.Join(ids, " "))
}

// tree lists every path under / with its attributes, depth first.
func (s *shell) tree() string {
	var out []string
	var walk func(ino uint64, prefix string)
	walk = func(ino uint64, prefix string) {
		ents, _, _, err := ReadDir(s.tx, nil, ino, "", 1<<20, true)
		if err != nil {
			out = append(out, prefix+": "+err.Error())
			return
		}
		for _, e := range ents {
			out = append(out, prefix+"/"+e.Name+" "+fmtAttr(e.Attr))
			if e.Attr.Mode&sIFMT == sIFDIR {
				walk(e.Ino, prefix+"/"+e.Name)
			}
		}
	}
	walk(1, "")
	return strings.Join(out, "\n")
}
