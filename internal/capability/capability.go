// Package capability names Linux capabilities (include/uapi/linux/capability.h)
// and decodes the file capabilities kept in the security.capability
// extended attribute (struct vfs_ns_cap_data). It is shared by the sensors
// that report capability sets, and by the /proc snapshot.
package capability

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"

	"github.com/vigil-sec/vigil/internal/event"
)

// names are the capabilities by bit number.
var names = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// Name names a capability by its bit number; unknown bits are CAP_<n>.
func Name(bit int) string {
	if bit >= 0 && bit < len(names) {
		return names[bit]
	}
	return fmt.Sprintf("CAP_%d", bit)
}

// Names are the names of every capability vigil knows, by bit number.
func Names() []string { return slices.Clone(names[:]) }

// List names the capabilities in a set, lowest bit first; never nil.
func List(set uint64) []string {
	out := make([]string, 0, bits.OnesCount64(set))
	for bit := 0; set != 0; bit, set = bit+1, set>>1 {
		if set&1 != 0 {
			out = append(out, Name(bit))
		}
	}
	return out
}

// XattrName is the extended attribute that holds file capabilities.
const XattrName = "security.capability"

// The revisions of the security.capability value (linux/capability.h).
const (
	revisionMask  = 0xFF000000
	flagEffective = 0x000001
	revision1     = 0x01000000 // 32-bit sets: 12 bytes
	revision2     = 0x02000000 // 64-bit sets: 20 bytes
	revision3     = 0x03000000 // 64-bit sets and the namespace's root uid: 24 bytes
)

// File is a decoded security.capability value: the sets a program gets
// at exec.
type File struct {
	// Version is the value's revision: 1, 2 or 3 (3 names a user
	// namespace's root, RootID).
	Version int
	// Permitted and Inheritable are the file's sets.
	Permitted, Inheritable uint64
	// Effective is the effective flag: the permitted set is raised at
	// exec, as `setcap cap_x+ep` asks.
	Effective bool
	// RootID is the uid that is root in the namespace the capabilities
	// apply in (version 3 only).
	RootID uint32
}

// ParseFile decodes a security.capability value, little-endian as the
// kernel stores it. It fails on a value whose size does not match its
// revision.
func ParseFile(v []byte) (File, error) {
	if len(v) < 4 {
		return File{}, fmt.Errorf("capability value of %d bytes, want at least 4", len(v))
	}
	le := binary.LittleEndian
	magic := le.Uint32(v)
	f := File{Effective: magic&flagEffective != 0}
	var want int
	switch magic & revisionMask {
	case revision1:
		f.Version, want = 1, 12
	case revision2:
		f.Version, want = 2, 20
	case revision3:
		f.Version, want = 3, 24
	default:
		return File{}, fmt.Errorf("capability revision %#x unknown", magic&revisionMask)
	}
	if len(v) < want {
		return File{}, fmt.Errorf("capability revision %d value of %d bytes, want %d", f.Version, len(v), want)
	}
	f.Permitted, f.Inheritable = uint64(le.Uint32(v[4:])), uint64(le.Uint32(v[8:]))
	if f.Version >= 2 {
		f.Permitted |= uint64(le.Uint32(v[12:])) << 32
		f.Inheritable |= uint64(le.Uint32(v[16:])) << 32
	}
	if f.Version == 3 {
		f.RootID = le.Uint32(v[20:])
	}
	return f, nil
}

// Sets are a task's capability sets as the kernel keeps them, bit n for
// capability n.
type Sets struct {
	Effective, Permitted, Inheritable, Bounding uint64
}

// Table names capability sets, keeping the names of each set it met (up
// to its bound, then it starts over): nearly every process has one of a
// few sets, and the events of all of them can share one copy. A nil
// *Table names every set afresh. Not safe for concurrent use.
type Table struct {
	named map[Sets]*event.Caps
	max   int
}

// NewTable makes a table that keeps at most max sets.
func NewTable(max int) *Table {
	return &Table{named: make(map[Sets]*event.Caps), max: max}
}

// Caps names s; what it returns is shared, read-only.
func (t *Table) Caps(s Sets) *event.Caps {
	if t != nil {
		if c, ok := t.named[s]; ok {
			return c
		}
	}
	c := &event.Caps{Effective: List(s.Effective), Permitted: List(s.Permitted),
		Inheritable: List(s.Inheritable), Bounding: List(s.Bounding)}
	if t != nil {
		if len(t.named) >= t.max {
			clear(t.named)
		}
		t.named[s] = c
	}
	return c
}
