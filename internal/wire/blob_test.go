package wire

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestBlob(t *testing.T) {
	// as the process sensor writes an exec: binary, argv, cwd
	data := []byte("cat\x00bin\x00usr\x00cat\x00-n\x00/etc/passwd\x00\x00")
	b := NewBlob(data)
	if got := b.Path(0, 12); got != "/usr/bin/cat" {
		t.Errorf("Path = %q", got)
	}
	if got := b.Args(12, 19); !slices.Equal(got, []string{"cat", "-n", "/etc/passwd"}) {
		t.Errorf("Args = %q", got)
	}
	if got := b.String(12, 19); got != "cat" {
		t.Errorf("String = %q, want up to the first NUL", got)
	}
	if got := b.Path(31, 0); got != "" {
		t.Errorf("absent Path = %q, want \"\"", got)
	}
	if got := b.Args(31, 0); got == nil || len(got) != 0 {
		t.Errorf("absent Args = %#v, want an empty list", got)
	}
	if err := b.Err(); err != nil {
		t.Fatalf("in-bounds reads: %v", err)
	}
	if got := b.String(30, 3); got != "" || !errors.Is(b.Err(), ErrMalformed) {
		t.Errorf("overrun: %q, %v; want \"\" and ErrMalformed", got, b.Err())
	}
	first := b.Err()
	b.Bytes(65535, 65535)
	if b.Err() != first {
		t.Errorf("Err = %v, want the first overrun, %v", b.Err(), first)
	}
}

func TestCString(t *testing.T) {
	if got := CString([]int8{'s', 'h', 0, 'x'}); got != "sh" {
		t.Errorf("CString = %q", got)
	}
	if got := CString([]byte("no nul")); got != "no nul" {
		t.Errorf("CString = %q", got)
	}
}

// FuzzBlob: no reference panics or reads outside the blob; one in bounds
// is never an error and one out of bounds always is. The seeds in
// testdata/fuzz/FuzzBlob are the blobs of exec records the process sensor's
// kernel tests captured, with their real references.
func FuzzBlob(f *testing.F) {
	f.Add([]byte("cat\x00bin\x00usr\x00"), uint16(0), uint16(12))
	f.Fuzz(func(t *testing.T, data []byte, off, n uint16) {
		b := NewBlob(data)
		inBounds := int(off)+int(n) <= len(data)
		raw := b.Bytes(off, n)
		if inBounds != (b.Err() == nil) {
			t.Fatalf("%d+%d of %d bytes: error %v", off, n, len(data), b.Err())
		}
		if inBounds && len(raw) != int(n) {
			t.Fatalf("%d+%d: %d bytes", off, n, len(raw))
		}
		if s := b.String(off, n); strings.Contains(s, "\x00") || len(s) > len(raw) {
			t.Fatalf("String %q of %q", s, raw)
		}
		if p := b.Path(off, n); p != "" && p[0] != '/' {
			t.Fatalf("Path %q is not absolute", p)
		}
		if args := b.Args(off, n); args == nil {
			t.Fatal("Args is nil")
		} else if joined := strings.Join(args, "\x00"); len(joined) > len(raw) {
			t.Fatalf("Args %q longer than %q", args, raw)
		}
		if !inBounds && (b.Path(off, n) != "" || len(b.Args(off, n)) != 0) {
			t.Fatal("an overrun read something")
		}
	})
}

func TestSplitArgs(t *testing.T) {
	for raw, want := range map[string][]string{
		"":             {""},
		"a":            {"a"},
		"a\x00\x00b":   {"a", "", "b"},
		"ls\x00-l\x00": {"ls", "-l", ""},
	} {
		if got := SplitArgs(raw); !slices.Equal(got, want) {
			t.Errorf("SplitArgs(%q) = %q, want %q", raw, got, want)
		}
	}
}
