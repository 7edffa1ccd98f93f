package ring

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

func TestParseHeader(t *testing.T) {
	raw := make([]byte, HeaderSize+8)
	binary.LittleEndian.PutUint16(raw[0:], WireProcessExec)
	binary.LittleEndian.PutUint32(raw[4:], uint32(len(raw)))
	binary.LittleEndian.PutUint32(raw[16:], 4242)
	h, err := ParseHeader(raw)
	if err != nil || h.Kind != WireProcessExec || h.Pid != 4242 {
		t.Fatalf("ParseHeader = %+v, %v", h, err)
	}
	if _, err := ParseHeader(raw[:HeaderSize-1]); !errors.Is(err, ErrMalformed) {
		t.Errorf("short record: %v, want ErrMalformed", err)
	}
	if _, err := ParseHeader(raw[:HeaderSize+4]); !errors.Is(err, ErrMalformed) {
		t.Errorf("size mismatch: %v, want ErrMalformed", err)
	}
}

func TestKindNamesRoundTrip(t *testing.T) {
	seen := map[event.Kind]bool{}
	for w := uint16(1); w < 64; w++ {
		k := KindName(w)
		back, ok := WireKind(k)
		if k[:5] == "kind_" {
			if ok {
				t.Errorf("unnamed wire kind %d maps back", w)
			}
			continue
		}
		if !ok || back != w {
			t.Errorf("%s: wire %d maps back to %d, %v", k, w, back, ok)
		}
		if seen[k] {
			t.Errorf("%s named twice", k)
		}
		seen[k] = true
	}
	if len(seen) < 35 {
		t.Errorf("only %d named kinds, want every kind of common.h", len(seen))
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add(make([]byte, HeaderSize))
	f.Fuzz(func(t *testing.T, raw []byte) {
		h, err := ParseHeader(raw)
		if err == nil && int(h.Size) != len(raw) {
			t.Fatalf("accepted a record of %d bytes whose header says %d", len(raw), h.Size)
		}
	})
}
