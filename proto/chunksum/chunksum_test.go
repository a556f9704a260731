package chunksum

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestKnownValues(t *testing.T) {
	// CRC-32C of "123456789" is 0xe3069283 (RFC 3720, appendix B.4).
	if got := hex.EncodeToString(Of([]byte("123456789"))); got != "e3069283" {
		t.Fatalf("Of = %s, want e3069283", got)
	}
	h := New()
	h.Write([]byte("1234"))
	h.Write([]byte("56789"))
	if got := h.Sum(nil); !bytes.Equal(got, Of([]byte("123456789"))) {
		t.Fatalf("New().Sum = %x, want Of's", got)
	}
}

func TestForPicksTheKind(t *testing.T) {
	data := []byte("chunk bytes")
	sha := sha256.Sum256(data)
	for _, want := range [][]byte{Of(data), sha[:]} {
		h, err := For(want)
		if err != nil {
			t.Fatal(err)
		}
		h.Write(data)
		if got := h.Sum(nil); !bytes.Equal(got, want) {
			t.Errorf("For(%d bytes) computes %x, want %x", len(want), got, want)
		}
	}
	for _, bad := range [][]byte{nil, {1, 2, 3}, make([]byte, 16)} {
		if _, err := For(bad); err == nil {
			t.Errorf("For(%d bytes) accepted", len(bad))
		}
	}
}

// BenchmarkSum measures each kind of sum over a 4 MiB chunk:
// go test -run '^$' -bench Sum ./proto/chunksum/
func BenchmarkSum(b *testing.B) {
	data := make([]byte, 4<<20)
	for _, kind := range []struct {
		name string
		sum  []byte
	}{{"crc32c", Of(nil)}, {"sha256", make([]byte, sha256.Size)}} {
		b.Run(kind.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				h, _ := For(kind.sum)
				h.Write(data)
				h.Sum(nil)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	data := []byte("chunk bytes")
	sha := sha256.Sum256(data)
	for _, sum := range [][]byte{Of(data), sha[:]} {
		if err := Verify(data, sum); err != nil {
			t.Errorf("Verify with a %d-byte sum of the data: %v", len(sum), err)
		}
		if err := Verify([]byte("other bytes"), sum); err == nil {
			t.Errorf("Verify of other bytes against a %d-byte sum passed", len(sum))
		}
	}
	if err := Verify(data, []byte{1, 2, 3}); err == nil {
		t.Error("Verify with a sum of no known kind passed")
	}
}
