package kmod

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Loaded is one line of /proc/modules, which the kernel prints as
//
//	name size refcount deps state address [(taints)]
//
// deps being "-" or a comma-terminated list ("a,b,"), refcount "-" on a
// kernel that cannot unload modules, and address 0x0 unless the reader
// may see kernel addresses (kptr_restrict).
type Loaded struct {
	Name     string
	Size     uint64
	Refcount int // -1: the kernel cannot unload modules and does not count
	Deps     []string
	State    string // Live, Loading or Unloading
	Address  string
	Taint    string // letters, "" for none
}

// ParseProcModules reads /proc/modules' format from r; file names r in
// errors, which give the line and the field.
func ParseProcModules(r io.Reader, file string) ([]Loaded, error) {
	var out []Loaded
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		m, err := parseModuleLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, n, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return out, nil
}

func parseModuleLine(line string) (Loaded, error) {
	f := strings.Fields(line)
	if len(f) < 6 || len(f) > 7 {
		return Loaded{}, fmt.Errorf("%d fields, want name, size, refcount, deps, state, address and optional (taints)", len(f))
	}
	m := Loaded{Name: f[0], State: f[4], Address: f[5], Refcount: -1}
	var err error
	if m.Size, err = strconv.ParseUint(f[1], 10, 64); err != nil {
		return Loaded{}, fmt.Errorf("size %q: want a byte count", f[1])
	}
	if f[2] != "-" {
		if m.Refcount, err = strconv.Atoi(f[2]); err != nil || m.Refcount < 0 {
			return Loaded{}, fmt.Errorf("refcount %q: want a count or -", f[2])
		}
	}
	if f[3] != "-" {
		for d := range strings.SplitSeq(f[3], ",") {
			if d != "" {
				m.Deps = append(m.Deps, d)
			}
		}
	}
	switch m.State {
	case "Live", "Loading", "Unloading":
	default:
		return Loaded{}, fmt.Errorf("state %q: want Live, Loading or Unloading", m.State)
	}
	if !strings.HasPrefix(m.Address, "0x") {
		return Loaded{}, fmt.Errorf("address %q: want 0x…", m.Address)
	}
	if len(f) == 7 {
		t := f[6]
		if len(t) < 3 || t[0] != '(' || t[len(t)-1] != ')' {
			return Loaded{}, fmt.Errorf("taints %q: want letters in parentheses", t)
		}
		m.Taint = t[1 : len(t)-1]
	}
	return m, nil
}
