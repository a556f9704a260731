package namespace

import (
	"encoding/binary"

	pb "github.com/geomds/geomds/proto/geomdspb"
)

// Exactly-once: a command with (client_id, seq > 0) stores its Result under
// 'r' client seq; a retry finds it and gets the first outcome back. acked_seq
// says the client has every result up to it, so those rows are deleted.

// ackGapBlind is the largest watermark advance handled by blind deletes of
// each seq; larger jumps scan the client's rows instead. A client with many
// calls in flight (a mount serving many processes) advances its watermark
// by dozens at a time; a scan inside a batch that has written costs an
// indexed copy of the batch, which profiled at a quarter of a follower's
// CPU under such a client, while a blind delete is a map entry.
const ackGapBlind = 4096

// MaxUnackedResults bounds a client's stored results (from command version
// 6): a command whose seq is more than this past the client's acknowledged
// watermark is refused with EAGAIN and writes nothing. A client's calls in
// flight are far fewer; without the bound, a client that never
// acknowledged would grow its stored results without end, and its
// session's end would delete them all in one command.
const (
	MaxUnackedResults     = 1 << 16
	boundedResultsVersion = 6
)

func (a *applier) storedResult(c ClientID, seq uint64) (*pb.Result, error) {
	v, ok, err := a.tx.Get(resultKey(a.kb, c, seq))
	if err != nil || !ok {
		return nil, err
	}
	res, good := decodeResult(v)
	if !good {
		return nil, corrupt("stored result")
	}
	return res, nil
}

// ackResults advances the session's watermark to acked, deleting the rows
// it covers.
func (a *applier) ackResults(acked uint64) error {
	s := &a.sess
	if acked <= s.acked {
		return nil
	}
	old := s.acked
	s.acked = acked
	if !s.exists {
		return nil // a new session has no rows
	}
	if acked-old <= ackGapBlind {
		for seq := old + 1; seq <= acked; seq++ {
			if err := a.tx.Delete(resultKey(a.kb, s.client, seq)); err != nil {
				return err
			}
		}
		return nil
	}
	return a.deleteResultsUpTo(acked)
}

func (a *applier) deleteResultsUpTo(acked uint64) error {
	c := a.sess.client
	var seqs []uint64
	err := a.tx.Scan(resultKey(nil, c, 0), resultKey(nil, c, acked+1), func(k, _ []byte) bool {
		seqs = append(seqs, u64At(k, 9))
		return true
	})
	if err != nil {
		return err
	}
	for _, seq := range seqs {
		if err := a.tx.Delete(resultKey(a.kb, c, seq)); err != nil {
			return err
		}
	}
	return nil
}

const resultVersion = 1

func encodeResult(b []byte, r *pb.Result) []byte {
	b = append(b[:0], resultVersion)
	b = binary.AppendUvarint(b, uint64(r.GetErrno()))
	b = appendStr(b, r.GetDetail())
	b = binary.AppendUvarint(b, r.GetHandle())
	at := r.GetAttr()
	if at == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	for _, v := range [...]uint64{at.Ino, uint64(at.Mode), uint64(at.Nlink), uint64(at.Uid), uint64(at.Gid), at.Size, at.Rdev, at.Generation} {
		b = binary.AppendUvarint(b, v)
	}
	for _, v := range [...]int64{at.AtimeNs, at.MtimeNs, at.CtimeNs} {
		b = binary.AppendVarint(b, v)
	}
	return b
}

func decodeResult(v []byte) (*pb.Result, bool) {
	d := decoder{b: v}
	if d.u8() != resultVersion {
		return nil, false
	}
	r := &pb.Result{Errno: pb.Errno(d.uvarint()), Detail: d.str(), Handle: d.uvarint()}
	if d.u8() == 1 {
		at := &pb.Attr{Ino: d.uvarint(), Mode: uint32(d.uvarint()), Nlink: uint32(d.uvarint()),
			Uid: uint32(d.uvarint()), Gid: uint32(d.uvarint())}
		at.Size, at.Rdev, at.Generation = d.uvarint(), d.uvarint(), d.uvarint()
		at.AtimeNs, at.MtimeNs, at.CtimeNs = d.varint(), d.varint(), d.varint()
		r.Attr = at
	}
	return r, d.done()
}
