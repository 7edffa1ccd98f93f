package process

import (
	"bytes"

	"github.com/vigil-sec/vigil/internal/capability"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// Bounds of a Shared's tables: each starts over when full, so a flood of
// values that never repeat costs a bounded amount of memory (some 900 KB
// at most in all) and what no table would cost in time.
const (
	sharedStrings   = 2048 // binaries, names, directories, cgroups, ttys
	sharedStringLen = 256
	sharedArgv      = 1024 // command lines, whole
	sharedArgvLen   = 128
	sharedFiles     = 1024 // executed files
	sharedAUIDs     = 64   // login uids
	sharedCaps      = 64   // capability sets
)

// Shared holds what the processes a Decoder makes have in common, so that
// the process cache keeps one copy of it instead of one per process: a
// storm of short-lived processes of one program repeats its binary, comm,
// working directory, cgroup, executable file and login uid at every exec.
// Everything it hands out is read-only, as an event's process is once
// published (event.Process). A nil *Shared shares nothing. Not safe for
// concurrent use.
type Shared struct {
	strs  *wire.Strings
	argv  *wire.Strings
	files map[event.FileID]*event.FileID
	auids map[uint32]*uint32
	// capSets names capability sets
	capSets *capability.Table
}

// NewShared makes empty tables.
func NewShared() *Shared {
	return &Shared{
		strs:    wire.NewStrings(sharedStrings, sharedStringLen),
		argv:    wire.NewStrings(sharedArgv, sharedArgvLen),
		files:   make(map[event.FileID]*event.FileID),
		auids:   make(map[uint32]*uint32),
		capSets: capability.NewTable(sharedCaps),
	}
}

func (s *Shared) strings() *wire.Strings {
	if s == nil {
		return nil
	}
	return s.strs
}

func (s *Shared) argvStrings() *wire.Strings {
	if s == nil {
		return nil
	}
	return s.argv
}

// file is f, the copy an earlier process got when it has the same.
func (s *Shared) file(f event.FileID) *event.FileID {
	if s == nil {
		return &f
	}
	return shareIn(s.files, sharedFiles, f)
}

// auid is the login uid, nil when unset (-1).
func (s *Shared) auid(v uint32) *uint32 {
	if v == ^uint32(0) {
		return nil
	}
	if s == nil {
		return &v
	}
	return shareIn(s.auids, sharedAUIDs, v)
}

// caps names the capability sets: nearly every process has one of a few,
// so their names are kept once per set, not once per process.
func (s *Shared) caps(k capability.Sets) *event.Caps {
	if s == nil {
		return (*capability.Table)(nil).Caps(k)
	}
	return s.capSets.Caps(k)
}

// shareIn is m's pointer to v, made and kept when m has none; m starts
// over when it holds max.
func shareIn[V comparable](m map[V]*V, max int, v V) *V {
	if p, ok := m[v]; ok {
		return p
	}
	if len(m) >= max {
		clear(m)
	}
	p := &v
	m[v] = p
	return p
}

// ttyName turns the kernel's tty name into the /dev path users know:
// "pts3" is /dev/pts/3.
func (s *Shared) ttyName(name []byte) string {
	if rest, ok := bytes.CutPrefix(name, []byte("pts")); ok && len(rest) > 0 {
		var buf [32]byte
		return s.strings().Bytes(append(append(buf[:0], "pts/"...), rest...))
	}
	return s.strings().Bytes(name)
}
