package namespace

import (
	"fmt"
	"math/rand/v2"
	"testing"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/protobuf/proto"
)

// cmdGen produces a seeded random command log that touches every op.
type cmdGen struct {
	r    *rand.Rand
	now  int64
	seqs [4]uint64
}

func newCmdGen(seed uint64) *cmdGen {
	return &cmdGen{r: rand.New(rand.NewPCG(seed, seed^0x5eed)), now: 1_700_000_000e9}
}

func (g *cmdGen) path() string {
	p := ""
	for i := g.r.IntN(3); i >= 0; i-- {
		p += "/" + []string{"a", "b", "c", "d"}[g.r.IntN(4)]
	}
	return p
}

func (g *cmdGen) next() *pb.Command {
	g.now += int64(g.r.IntN(5e9))
	if g.r.IntN(200) == 0 {
		g.now += 70e9 // let sessions expire
	}
	cmd := &pb.Command{TimeNs: g.now}
	if g.r.IntN(3) == 0 {
		cmd.Creds = &pb.Creds{Uid: 1000, Gid: 1000}
	}
	if c := g.r.IntN(4); c > 0 {
		g.seqs[c]++
		cmd.ClientId, cmd.Seq = uint64(c), g.seqs[c]
		cmd.AckedSeq = g.seqs[c] - min(g.seqs[c], uint64(1+g.r.IntN(3)))
		if g.r.IntN(10) == 0 && cmd.Seq > 1 {
			cmd.Seq-- // a retry
		}
	}
	g.fill(cmd)
	return cmd
}

func (g *cmdGen) fill(cmd *pb.Command) {
	loc := func() *pb.Loc { return &pb.Loc{Path: g.path()} }
	mode := []uint32{0o755, 0o777, 0o700, 0o644}[g.r.IntN(4)]
	switch g.r.IntN(16) {
	case 0, 1:
		cmd.Op = &pb.Command_Mkdir{Mkdir: &pb.Mkdir{Loc: loc(), Mode: mode}}
	case 2, 3:
		cmd.Op = &pb.Command_Mknod{Mknod: &pb.Mknod{Loc: loc(), Mode: sIFREG | mode, Open: g.r.IntN(2) == 0, Exclusive: g.r.IntN(2) == 0}}
	case 4:
		cmd.Op = &pb.Command_Unlink{Unlink: &pb.Unlink{Loc: loc()}}
	case 5:
		cmd.Op = &pb.Command_Rmdir{Rmdir: &pb.Rmdir{Loc: loc()}}
	case 6:
		cmd.Op = &pb.Command_Rename{Rename: &pb.Rename{From: loc(), To: loc(), Flags: uint32(g.r.IntN(3))}}
	case 7:
		cmd.Op = &pb.Command_Link{Link: &pb.Link{Path: g.path(), NewLoc: loc()}}
	case 8:
		cmd.Op = &pb.Command_Symlink{Symlink: &pb.Symlink{Target: g.path(), Loc: loc()}}
	case 9:
		cmd.Op = &pb.Command_SetAttr{SetAttr: &pb.SetAttr{Path: g.path(), Valid: uint32(1 << g.r.IntN(9)),
			Mode: mode, Uid: 1000, Gid: 1000, Size: uint64(g.r.IntN(1000)), MtimeNs: 5}}
	case 10:
		cmd.Op = &pb.Command_SetXattr{SetXattr: &pb.SetXattr{Path: g.path(), Name: "user.x", Value: []byte("v")}}
	case 11:
		cmd.Op = &pb.Command_Open{Open: &pb.Open{Ino: uint64(1 + g.r.IntN(30)), Flags: uint32(g.r.IntN(3)) | uint32(g.r.IntN(2))*oTrunc}}
	case 12:
		cmd.Op = &pb.Command_Release{Release: &pb.Release{Handle: uint64(1 + g.r.IntN(30))}}
	case 13:
		g.fillLayout(cmd)
	case 14:
		g.fillSession(cmd)
	default:
		if g.r.IntN(2) == 0 {
			cmd.Op = &pb.Command_RemoveAll{RemoveAll: &pb.RemoveAll{Path: g.path()}}
		} else {
			cmd.Op = &pb.Command_MkdirAll{MkdirAll: &pb.MkdirAll{Path: g.path(), Mode: mode}}
		}
	}
}

func (g *cmdGen) fillLayout(cmd *pb.Command) {
	id := func() string { return fmt.Sprintf("k%d", g.r.IntN(40)) }
	op := &pb.SetLayout{Ino: uint64(1 + g.r.IntN(30)), Size: 300}
	for i := 0; i < 3; i++ {
		if g.r.IntN(2) == 0 {
			c := id()
			op.Extents = append(op.Extents, &pb.Extent{Offset: uint64(i) * 100, Length: 100, Chunk: c})
			op.NewChunks = append(op.NewChunks, &pb.ChunkRef{Id: c, Size: 100})
		}
	}
	switch g.r.IntN(4) {
	case 0:
		op.Merge = true
	case 1:
		op.Merge, op.Cut = true, proto.Uint64(uint64(g.r.IntN(400)))
	}
	cmd.Op = &pb.Command_SetLayout{SetLayout: op}
}

func (g *cmdGen) fillSession(cmd *pb.Command) {
	switch g.r.IntN(6) {
	case 0:
		cmd.Op = &pb.Command_KeepAlive{KeepAlive: &pb.KeepAlive{TimeoutNs: int64(g.r.IntN(3)) * 20e9}}
	case 1:
		cmd.Op = &pb.Command_CloseSession{CloseSession: &pb.CloseSession{}}
	case 2:
		cmd.Op = &pb.Command_DropChunks{DropChunks: &pb.DropChunks{Ids: []string{fmt.Sprintf("k%d", g.r.IntN(40))}}}
	case 4:
		ids := []string{fmt.Sprintf("k%d", g.r.IntN(40)), fmt.Sprintf("s%d", g.r.IntN(10))}
		cmd.Op = &pb.Command_SweepChunks{SweepChunks: &pb.SweepChunks{Site: "east", Ids: ids}}
	case 3:
		cmd.Op = &pb.Command_SetHome{SetHome: &pb.SetHome{Site: []string{"east", "west", ""}[g.r.IntN(3)]}}
	default:
		cmd.Op = &pb.Command_Noop{Noop: &pb.Noop{}}
	}
}

func commandLog(seed uint64, n int) []*pb.Command {
	g := newCmdGen(seed)
	log := make([]*pb.Command, n)
	for i := range log {
		log[i] = g.next()
	}
	return log
}

// replay applies log to a fresh store, batchSize commands per batch (0: no
// batching, straight onto the MemTx), and returns the digest and results.
func replay(t *testing.T, log []*pb.Command, batchSize func() int) ([32]byte, []*pb.Result) {
	base := NewMemTx()
	if err := Init(base, 1); err != nil {
		t.Fatal(err)
	}
	var results []*pb.Result
	for i := 0; i < len(log); {
		n := batchSize()
		var tx Tx = base
		var b *batchTx
		if n > 0 {
			b = newBatchTx(base)
			tx = b
		} else {
			n = 1
		}
		for ; n > 0 && i < len(log); n, i = n-1, i+1 {
			res, err := Apply(tx, log[i])
			if err != nil {
				t.Fatalf("command %d %v: %v", i, log[i], err)
			}
			results = append(results, res)
		}
		if b != nil {
			b.commit()
		}
		if err := Check(base); err != nil {
			t.Fatalf("after command %d: %v", i, err)
		}
	}
	d, err := Digest(base)
	if err != nil {
		t.Fatal(err)
	}
	return d, results
}

// TestDeterminism applies the same seeded log to two stores, one straight
// and one in random batches through a buffering Tx, and expects equal
// digests and results; a changed command must change the digest.
func TestDeterminism(t *testing.T) {
	const n = 3000
	log := commandLog(42, n)
	straight, res1 := replay(t, log, func() int { return 0 })
	r := rand.New(rand.NewPCG(7, 7))
	batched, res2 := replay(t, log, func() int { return 1 + r.IntN(200) })
	if straight != batched {
		t.Fatalf("digests differ: %x vs %x", straight, batched)
	}
	ok := 0
	for i := range res1 {
		if !proto.Equal(res1[i], res2[i]) {
			t.Fatalf("result %d differs: %v vs %v", i, res1[i], res2[i])
		}
		if res1[i].Errno == pb.Errno_OK {
			ok++
		}
	}
	if ok < n/10 {
		t.Fatalf("only %d of %d commands succeeded: the log exercises too little", ok, n)
	}
	changed := append([]*pb.Command{}, log...)
	c := proto.Clone(log[n/2]).(*pb.Command)
	c.Op = &pb.Command_Mkdir{Mkdir: &pb.Mkdir{Loc: &pb.Loc{Path: "/changed"}, Mode: 0o755}}
	c.Creds, c.ClientId, c.Seq = nil, 0, 0
	changed[n/2] = c
	if d, _ := replay(t, changed, func() int { return 0 }); d == straight {
		t.Fatal("a changed command left the digest unchanged")
	}
	t.Logf("%d commands, %d succeeded, digest %x", n, ok, straight[:8])
}
