package namespace

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"
	"testing"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"pgregory.net/rapid"
)

// modelSteps is the number of random operations per rapid check; with
// rapid's default 100 checks a run makes about 12,000 steps.
const modelSteps = 120

// TestModel applies random operations to the namespace over a MemTx and to
// the reference model, comparing every errno, the whole tree and the
// counters after each step, running Check after each step, and verifying
// that a rejected command changes nothing but session bookkeeping.
func TestModel(t *testing.T) {
	total := 0
	rapid.Check(t, func(rt *rapid.T) {
		h := newModelHarness(rt)
		for i := 0; i < modelSteps; i++ {
			h.step()
			total++
		}
	})
	t.Logf("model steps: %d", total)
}

type modelHarness struct {
	rt         *rapid.T
	tx         *MemTx
	m          *model
	now        int64
	lastOpened *mnode // the model node of the latest Open, keyed by its handle on success
}

func newModelHarness(rt *rapid.T) *modelHarness {
	tx := NewMemTx()
	if err := Init(tx, 1); err != nil {
		rt.Fatal(err)
	}
	return &modelHarness{rt: rt, tx: tx, m: newModel(), now: 1}
}

var (
	modelNames = []string{"a", "b", "c", "l"}
	modelPerms = []uint32{0o755, 0o700, 0o777, 0o555, 0o644, 0o600}
	userCreds  = &pb.Creds{Uid: 1000, Gid: 1000}
)

func (h *modelHarness) path(label string) string {
	if rapid.IntRange(0, 40).Draw(h.rt, label+"root") == 0 {
		return "/"
	}
	n := rapid.SampledFrom([]int{1, 1, 2, 2, 3}).Draw(h.rt, label+"depth")
	p := ""
	for i := 0; i < n; i++ {
		p += "/" + rapid.SampledFrom(modelNames).Draw(h.rt, label)
	}
	return p
}

// step draws one operation, applies it to both sides and compares.
func (h *modelHarness) step() {
	h.now += 1000
	var pc *pb.Creds
	if rapid.IntRange(0, 2).Draw(h.rt, "user") == 0 {
		pc = userCreds
	}
	c := credOf(pc)
	op := rapid.IntRange(0, 14).Draw(h.rt, "op")
	want, cmd := h.modelOp(op, c)
	if cmd == nil {
		return // a read-side mismatch was already reported, or nothing to do
	}
	cmd.Creds, cmd.TimeNs = pc, h.now
	got := h.apply(cmd)
	if got.Errno != want {
		h.rt.Fatalf("%v: namespace %v (%s), model %v", cmd, got.Errno, got.Detail, want)
	}
	if _, ok := cmd.Op.(*pb.Command_Open); ok && got.Errno == mok {
		h.m.handles[got.Handle] = h.lastOpened
	}
	h.compare()
}

// apply runs cmd and checks that a rejection wrote nothing but session
// bookkeeping, and that the state still passes Check.
func (h *modelHarness) apply(cmd *pb.Command) *pb.Result {
	before := stateDigest(h.rt, h.tx)
	res, err := Apply(h.tx, cmd)
	if err != nil {
		h.rt.Fatalf("%v: %v", cmd, err)
	}
	if res.Errno != mok && stateDigest(h.rt, h.tx) != before {
		h.rt.Fatalf("%v: rejected with %v but changed the state", cmd, res.Errno)
	}
	if err := Check(h.tx); err != nil {
		h.rt.Fatalf("after %v: %v", cmd, err)
	}
	return res
}

// stateDigest hashes everything except session bookkeeping (sessions,
// expiry rows, results and the expiry hint in meta).
func stateDigest(t interface{ Fatal(...any) }, r Reader) [32]byte {
	hs := sha256.New()
	err := r.Scan(nil, nil, func(k, v []byte) bool {
		switch k[0] {
		case pfxClient, pfxExpiry, pfxResult:
			return true
		case pfxMeta:
			v = v[:metaRecordSize-8]
		}
		hs.Write([]byte(strconv.Itoa(len(k))))
		hs.Write(k)
		hs.Write([]byte(strconv.Itoa(len(v))))
		hs.Write(v)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	var d [32]byte
	copy(d[:], hs.Sum(nil))
	return d
}

func strconvOct(v uint32) string { return fmt.Sprintf("%04o", v) }
func itoa(v uint64) string       { return strconv.FormatUint(v, 10) }

// compare checks the namespace's tree, hard-link identity and counters
// against the model.
func (h *modelHarness) compare() {
	got, ids := h.dumpNamespace()
	want := h.m.dump()
	if !slices.Equal(got, want) {
		h.rt.Fatalf("tree differs:\nnamespace:\n%s\nmodel:\n%s", join(got), join(want))
	}
	h.checkIdentity(ids)
	st, err := StatFs(h.tx)
	if err != nil || st != h.m.stats() {
		h.rt.Fatalf("statfs %+v (%v), model %+v", st, err, h.m.stats())
	}
}

func join(s []string) string {
	out := ""
	for _, l := range s {
		out += "  " + l + "\n"
	}
	return out
}

// dumpNamespace lists the namespace in the model's dump format, and the
// ino of each path.
func (h *modelHarness) dumpNamespace() ([]string, map[string]uint64) {
	var out []string
	ids := map[string]uint64{}
	var walk func(ino uint64, prefix string)
	walk = func(ino uint64, prefix string) {
		ents, _, _, err := ReadDir(h.tx, nil, ino, "", 0, true)
		if err != nil {
			h.rt.Fatalf("readdir %s: %v", prefix, err)
		}
		for _, e := range ents {
			p := prefix + "/" + e.Name
			a := e.Attr
			target := ""
			if a.Mode&sIFMT == sIFLNK {
				target, _ = ReadLink(h.tx, a.Ino)
			}
			names, err := ListXattr(h.tx, nil, a.Ino)
			if err != nil {
				h.rt.Fatal(err)
			}
			xs := map[string]bool{}
			for _, n := range names {
				xs[n] = true
			}
			out = append(out, dumpLine(p, a.Mode, a.Uid, a.Nlink, a.Size, target, xs))
			ids[p] = a.Ino
			if a.Mode&sIFMT == sIFDIR {
				walk(a.Ino, p)
			}
		}
	}
	walk(1, "")
	return out, ids
}

// checkIdentity checks that two paths share an ino exactly when they share
// a model node (hard links).
func (h *modelHarness) checkIdentity(ids map[string]uint64) {
	byNode := map[int]uint64{}
	byIno := map[uint64]int{}
	var walk func(d *mnode, prefix string)
	walk = func(d *mnode, prefix string) {
		for name, n := range d.kids {
			p := prefix + "/" + name
			ino := ids[p]
			if got, ok := byNode[n.id]; ok && got != ino {
				h.rt.Fatalf("%s: model node %d is ino %d here, %d elsewhere", p, n.id, ino, got)
			}
			if got, ok := byIno[ino]; ok && got != n.id {
				h.rt.Fatalf("%s: ino %d is model node %d here, %d elsewhere", p, ino, n.id, got)
			}
			byNode[n.id], byIno[ino] = ino, n.id
			if n.kind == sIFDIR {
				walk(n, p)
			}
		}
	}
	walk(h.m.root, "")
}
