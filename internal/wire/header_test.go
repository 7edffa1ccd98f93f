package wire

import (
	"encoding/binary"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

func TestParseHeader(t *testing.T) {
	raw := make([]byte, HeaderSize+8)
	binary.LittleEndian.PutUint16(raw[0:], ProcessExec)
	binary.LittleEndian.PutUint32(raw[4:], uint32(len(raw)))
	binary.LittleEndian.PutUint32(raw[16:], 4242)
	h, err := ParseHeader(raw)
	if err != nil || h.Kind != ProcessExec || h.Pid != 4242 {
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
		back, ok := Kind(k)
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

// enumValues reads the KIND_ values out of text (C or generated Go) with
// re, whose groups are the name without KIND_ and the number.
func enumValues(t *testing.T, path string, re *regexp.Regexp) map[string]uint16 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint16{}
	for _, m := range re.FindAllStringSubmatch(string(raw), -1) {
		n, err := strconv.ParseUint(m[2], 10, 16)
		if err != nil {
			t.Fatalf("%s: %s = %s: %v", path, m[1], m[2], err)
		}
		out[m[1]] = uint16(n)
	}
	if len(out) < 40 {
		t.Fatalf("%s: found only %d KIND_ values: the pattern no longer fits", path, len(out))
	}
	return out
}

// TestKindTableMatchesTheEnum holds internal/event's table of kinds to
// enum record_kind, as bpf/lib/common.h declares it and as bpf2go generated
// it: every value has the row of its lower-cased name and number, and every
// row has a value.
func TestKindTableMatchesTheEnum(t *testing.T) {
	header := enumValues(t, "../../bpf/lib/common.h", regexp.MustCompile(`(?m)^\s*KIND_(\w+)\s*=\s*(\d+)`))
	generated := enumValues(t, "wire_bpfel.go", regexp.MustCompile(`(?m)^\s*wireRecordKindKIND_(\w+)\s+wireRecordKind = (\d+)`))
	for name, w := range header {
		if g, ok := generated[name]; !ok || g != w {
			t.Errorf("KIND_%s is %d in common.h, %d (%v) in wire_bpfel.go: run go generate", name, w, g, ok)
		}
	}
	for name := range generated {
		if _, ok := header[name]; !ok {
			t.Errorf("KIND_%s is generated but no longer in common.h: run go generate", name)
		}
	}
	if w := header["COUNT"]; w != event.WireKinds {
		t.Errorf("KIND_COUNT is %d, event.WireKinds %d", w, event.WireKinds)
	}
	rows := 0
	for name, w := range header {
		if name == "NONE" || name == "COUNT" {
			continue
		}
		rows++
		row, ok := event.KindOfWire(w)
		if want := event.Kind(strings.ToLower(name)); !ok || row.Kind != want {
			t.Errorf("KIND_%s = %d: internal/event's table has %q there (%v), want a row named %s", name, w, row.Kind, ok, want)
		}
	}
	if n := len(event.KindInfos()); n != rows {
		t.Errorf("the table has %d rows, enum record_kind %d kinds", n, rows)
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
