package namespace

import "encoding/binary"

// decoder reads the hand-rolled binary records. A short or malformed record
// sets bad instead of panicking; callers turn bad into a corruption error.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) need(n int) bool {
	if d.bad || len(d.b) < n {
		d.bad = true
		return false
	}
	return true
}

func (d *decoder) u8() uint8 {
	if !d.need(1) {
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) u32() uint32 {
	if !d.need(4) {
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) u64() uint64 {
	if !d.need(8) {
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.bad {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.bad {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns a copy of a length-prefixed byte string.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.bad || uint64(len(d.b)) < n {
		d.bad = true
		return nil
	}
	v := append([]byte(nil), d.b[:n]...)
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.bad || uint64(len(d.b)) < n {
		d.bad = true
		return ""
	}
	v := string(d.b[:n])
	d.b = d.b[n:]
	return v
}

// done reports whether the record decoded cleanly and completely.
func (d *decoder) done() bool { return !d.bad && len(d.b) == 0 }

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendStr(b []byte, v string) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// errCorrupt reports undecodable state. It is not a rejection: the replica
// must stop rather than diverge.
type corruptError struct{ what string }

func (e *corruptError) Error() string { return "namespace: corrupt " + e.what }

func corrupt(what string) error { return &corruptError{what} }
