package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	pb "github.com/geomds/geomds/proto/geomdspb"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// putCodec is the codec of the Put stream. It encodes a PutChunkRequest as
// the standard codec would, except that the data goes to the transport as
// the caller's slice instead of being copied into the encoding: a chunk's
// bytes are the bulk of every message, and nobody writes an upload's bytes
// while it lives (a retry sends them again), so the copy buys nothing.
// The wire bytes are the same; the server decodes them with its own proto
// codec (the name says "proto").
type putCodec struct{ std encoding.CodecV2 }

var chunkPutCodec = putCodec{std: encoding.GetCodecV2(grpcproto.Name)}

// putDataField is the field number of PutChunkRequest.data.
var putDataField = fieldNumber(&pb.PutChunkRequest{}, "data")

func (c putCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(*pb.PutChunkRequest)
	if !ok || len(m.GetData()) == 0 {
		return c.std.Marshal(v)
	}
	head, err := proto.Marshal(&pb.PutChunkRequest{Id: m.GetId(), Size: m.GetSize(), Sum: m.GetSum()})
	if err != nil {
		return nil, err
	}
	// Data (field 4) comes last, where the standard encoding puts it too.
	head = protowire.AppendTag(head, putDataField, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(len(m.GetData())))
	return mem.BufferSlice{mem.SliceBuffer(head), mem.SliceBuffer(m.GetData())}, nil
}

func (c putCodec) Unmarshal(data mem.BufferSlice, v any) error { return c.std.Unmarshal(data, v) }

func (c putCodec) Name() string { return c.std.Name() }

// getCodec is the codec of one Get stream that lands the replies' data in
// dst, a buffer the caller owns (a cached window's), instead of in a new
// slice per message: the standard decoding allocates (and zeroes) a slice
// for every MiB and copies into it, out of transport buffers that were
// themselves copied into one piece first. Each reply's Data is set to the
// part of dst it filled; data that would overflow dst gets a slice of its
// own, and a message that is not a well-formed GetChunkReply fails to
// decode, as with the standard codec.
type getCodec struct {
	std encoding.CodecV2
	dst []byte
	pos int // dst[:pos] is filled
}

func newGetCodec(dst []byte) *getCodec {
	return &getCodec{std: encoding.GetCodecV2(grpcproto.Name), dst: dst}
}

// GetChunkReply's field numbers.
var (
	getSizeField = fieldNumber(&pb.GetChunkReply{}, "size")
	getSumField  = fieldNumber(&pb.GetChunkReply{}, "sum")
	getDataField = fieldNumber(&pb.GetChunkReply{}, "data")
)

func fieldNumber(m proto.Message, name protoreflect.Name) protowire.Number {
	return m.ProtoReflect().Descriptor().Fields().ByName(name).Number()
}

func (c *getCodec) Marshal(v any) (mem.BufferSlice, error) { return c.std.Marshal(v) }

func (c *getCodec) Name() string { return c.std.Name() }

func (c *getCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*pb.GetChunkReply)
	if !ok {
		return c.std.Unmarshal(data, v)
	}
	r := data.Reader()
	defer r.Close()
	m.Reset()
	for r.Remaining() > 0 {
		if err := c.field(r, m); err != nil {
			return fmt.Errorf("decode GetChunkReply: %w", err)
		}
	}
	return nil
}

// field decodes one field of m from r.
func (c *getCodec) field(r *mem.Reader, m *pb.GetChunkReply) error {
	tag, err := binary.ReadUvarint(r)
	if err != nil {
		return err
	}
	num, typ := protowire.DecodeTag(tag)
	switch {
	case num == getSizeField && typ == protowire.VarintType:
		m.Size, err = binary.ReadUvarint(r)
	case num == getSumField && typ == protowire.BytesType:
		m.Sum, err = readBytes(r, nil)
	case num == getDataField && typ == protowire.BytesType:
		m.Data, err = readBytes(r, c)
	default:
		err = skipField(r, typ)
	}
	return err
}

// readBytes reads a length-delimited value: into c.dst where it fits (c
// nil: a new slice).
func readBytes(r *mem.Reader, c *getCodec) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil || n > uint64(r.Remaining()) {
		return nil, errors.Join(err, io.ErrUnexpectedEOF)
	}
	var b []byte
	if c != nil && n <= uint64(len(c.dst)-c.pos) {
		b = c.dst[c.pos : c.pos+int(n) : c.pos+int(n)]
		c.pos += int(n)
	} else {
		b = make([]byte, n)
	}
	_, err = io.ReadFull(r, b)
	return b, err
}

// skipField skips a field's value of wire type typ, as the standard
// decoding ignores unknown fields.
func skipField(r *mem.Reader, typ protowire.Type) error {
	var n uint64
	var err error
	switch typ {
	case protowire.VarintType:
		_, err = binary.ReadUvarint(r)
		return err
	case protowire.Fixed32Type:
		n = 4
	case protowire.Fixed64Type:
		n = 8
	case protowire.BytesType:
		n, err = binary.ReadUvarint(r)
	default:
		return fmt.Errorf("unexpected wire type %d", typ)
	}
	if err != nil || n > uint64(r.Remaining()) {
		return errors.Join(err, io.ErrUnexpectedEOF)
	}
	_, err = io.CopyN(io.Discard, r, int64(n))
	return err
}
