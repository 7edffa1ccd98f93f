package main

import (
	"os"
	"runtime/debug"
	"strings"
	"testing"
)

func TestReadOnlyMapping(t *testing.T) {
	const exe = "/usr/bin/vigil"
	for _, tc := range []struct {
		line       string
		start, end uintptr
		ok         bool
	}{
		{"00400000-02044000 r-xp 00000000 fe:00 10576192   /usr/bin/vigil", 0x400000, 0x2044000, true},
		{"02044000-0411b000 r--p 01c44000 fe:00 10576192   /usr/bin/vigil", 0x2044000, 0x411b000, true},
		// the data segment holds what the process wrote: never dropped
		{"0411b000-04405000 rw-p 03d1b000 fe:00 10576192   /usr/bin/vigil", 0, 0, false},
		{"7f11cca08000-7f11ccb0a000 r-xp 00000000 fe:00 42   /usr/lib/libc.so.6", 0, 0, false},
		{"7f1174ffb000-7f1175ffc000 r--s 00001000 00:10 1039   /usr/bin/vigil", 0, 0, false},
		{"102bbec00000-102bc2000000 rw-p 00000000 00:00 0", 0, 0, false},
		{"zz-02044000 r--p 01c44000 fe:00 10576192   /usr/bin/vigil", 0, 0, false},
	} {
		start, end, ok := readOnlyMapping(tc.line, exe)
		if start != tc.start || end != tc.end || ok != tc.ok {
			t.Errorf("readOnlyMapping(%q) = %x, %x, %v; want %x, %x, %v", tc.line, start, end, ok, tc.start, tc.end, tc.ok)
		}
	}
}

// TestTrimAfterStart drops this test binary's own read-only mappings and
// goes on running its code and reading its data: they come back from the
// file.
func TestTrimAfterStart(t *testing.T) {
	n, err := trimAfterStart()
	if err != nil {
		t.Fatal(err)
	}
	if n <= 0 {
		t.Fatalf("dropped %d bytes of binary mappings, want some", n)
	}
	// code and read-only data of this binary, used after the drop
	var b strings.Builder
	for i := range 1000 {
		b.WriteString(strings.Repeat("x", i%7))
	}
	if b.Len() != 2997 {
		t.Fatalf("built %d bytes after the trim, want 2997", b.Len())
	}
	if _, err := os.Stat("/proc/self/maps"); err != nil {
		t.Fatal(err)
	}
}

func TestSetMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	if err := setMemoryLimit(""); err != nil {
		t.Fatal(err)
	}
	if err := setMemoryLimit("0"); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("--memory-limit 0 changed the limit to %d, want %d kept", got, before)
	}
	if err := setMemoryLimit("40MiB"); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != 40<<20 {
		t.Errorf("--memory-limit 40MiB set %d, want %d", got, 40<<20)
	}
	for _, bad := range []string{"lots", "-5MiB"} {
		if err := setMemoryLimit(bad); err == nil || !strings.Contains(err.Error(), "--memory-limit") {
			t.Errorf("setMemoryLimit(%q) = %v, want an error naming --memory-limit", bad, err)
		}
	}
}

// TestTrimKeepsWrittenPages: a read-only mapping of the binary that holds
// anonymous pages (a relocated RELRO segment) is not dropped.
func TestTrimKeepsWrittenPages(t *testing.T) {
	const exe = "/usr/bin/vigil"
	smaps := `00400000-02044000 r-xp 00000000 fe:00 10576192   /usr/bin/vigil
Size:              29964 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me
02044000-0411b000 r--p 01c44000 fe:00 10576192   /usr/bin/vigil
Size:              33628 kB
Anonymous:            12 kB
VmFlags: rd mr mw me
0411b000-04405000 rw-p 03d1b000 fe:00 10576192   /usr/bin/vigil
Anonymous:           400 kB
`
	got, err := cleanReadOnlyMappings(strings.NewReader(smaps), exe)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != [2]uintptr{0x400000, 0x2044000} {
		t.Fatalf("clean mappings %x, want only the text at 400000-2044000", got)
	}
}
