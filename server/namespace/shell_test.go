package namespace

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// shell drives the namespace with one-line commands, as the datadriven
// scripts and the table tests write them. Options anywhere on the line:
// uid= gid= groups=a,b (credentials; default root), client= seq= acked=.
type shell struct {
	t       testing.TB
	tx      *MemTx
	now     int64
	handles map[string]uint64 // name -> handle, for "open ... as=NAME"
}

const shellStart = int64(1_700_000_000_000_000_000)

func newShell(t testing.TB) *shell {
	tx := NewMemTx()
	if err := Init(tx, shellStart); err != nil {
		t.Fatal(err)
	}
	return &shell{t: t, tx: tx, now: shellStart, handles: map[string]uint64{}}
}

// line is one parsed command line.
type line struct {
	cmd  string
	args []string
	opt  map[string]string
}

func parseLine(s string) line {
	l := line{opt: map[string]string{}}
	for i, f := range strings.Fields(s) {
		if i == 0 {
			l.cmd = f
		} else if k, v, ok := strings.Cut(f, "="); ok && !strings.HasPrefix(f, "/") {
			l.opt[k] = v
		} else {
			l.args = append(l.args, f)
		}
	}
	return l
}

func (l line) arg(i int) string {
	if i < len(l.args) {
		return l.args[i]
	}
	return ""
}

func (l line) has(flag string) bool {
	for _, a := range l.args {
		if a == flag {
			return true
		}
	}
	return false
}

func (l line) num(k string, def uint64) uint64 {
	v, ok := l.opt[k]
	if !ok {
		return def
	}
	n, err := strconv.ParseUint(v, 0, 64)
	if err != nil {
		panic(fmt.Sprintf("bad number %s=%s", k, v))
	}
	return n
}

func (l line) creds() *pb.Creds {
	if _, ok := l.opt["uid"]; !ok {
		return nil
	}
	c := &pb.Creds{Uid: uint32(l.num("uid", 0)), Gid: uint32(l.num("gid", l.num("uid", 0)))}
	if g := l.opt["groups"]; g != "" {
		for _, s := range strings.Split(g, ",") {
			n, _ := strconv.ParseUint(s, 10, 32)
			c.Groups = append(c.Groups, uint32(n))
		}
	}
	return c
}

// run executes a multi-line script and returns one output line per input.
func (s *shell) run(script string) string {
	var out []string
	for _, ln := range strings.Split(script, "\n") {
		ln = strings.TrimSpace(ln)
		if ln == "" || strings.HasPrefix(ln, "#") {
			continue
		}
		out = append(out, s.exec(ln))
	}
	return strings.Join(out, "\n")
}

// exec runs one command line and describes the outcome.
func (s *shell) exec(text string) string {
	l := parseLine(text)
	if res, ok := s.read(l); ok {
		return res
	}
	op := s.command(l)
	if op == nil {
		s.t.Fatalf("unknown command %q", text)
	}
	cmd := &pb.Command{ClientId: l.num("client", 0), Seq: l.num("seq", 0), AckedSeq: l.num("acked", 0),
		TimeNs: s.now, Creds: l.creds()}
	op(cmd)
	res, err := ApplyAt(s.tx, cmd, l.num("at", CommandVersion)) // at=N: the cluster's command version
	if err != nil {
		s.t.Fatalf("%s: apply: %v", text, err)
	}
	if err := Check(s.tx); err != nil {
		s.t.Fatalf("%s: %v", text, err)
	}
	return s.describe(l, res)
}

func (s *shell) describe(l line, res *pb.Result) string {
	if res.Errno != pb.Errno_OK {
		return res.Errno.String()
	}
	out := "ok"
	if res.Handle != 0 {
		out += fmt.Sprintf(" handle=%d", res.Handle)
		if name := l.opt["as"]; name != "" {
			s.handles[name] = res.Handle
		}
	}
	if res.GetCount() != 0 {
		out += fmt.Sprintf(" count=%d", res.GetCount())
	}
	if res.GetMore() {
		out += " more"
	}
	if l.has("v") && res.Attr != nil {
		out += " " + fmtAttr(res.Attr)
	}
	return out
}

func fmtAttr(a *pb.Attr) string {
	return fmt.Sprintf("%s %04o nlink=%d uid=%d gid=%d size=%d", typeName(a.Mode), a.Mode&permMask, a.Nlink, a.Uid, a.Gid, a.Size)
}

func typeName(mode uint32) string {
	return map[uint32]string{sIFDIR: "dir", sIFREG: "file", sIFLNK: "symlink", sIFIFO: "fifo",
		sIFSOCK: "sock", sIFCHR: "chr", sIFBLK: "blk"}[mode&sIFMT]
}

func errOr(err error, ok string) string {
	if err != nil {
		if e := ErrnoOf(err); e != pb.Errno_EIO {
			return e.String()
		}
		return "error: " + err.Error()
	}
	return ok
}

// resolveIno resolves a path as root (without following a final symlink
// when nofollow), or reads "#N" as an ino.
func (s *shell) resolveIno(p string, follow bool) uint64 {
	if strings.HasPrefix(p, "#") {
		n, _ := strconv.ParseUint(p[1:], 10, 64)
		return n
	}
	a, err := Resolve(s.tx, nil, p, follow)
	if err != nil {
		return 1 << 60 // a missing ino: the command reports ENOENT
	}
	return a.Ino
}
