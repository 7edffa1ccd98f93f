// Package kmod reads the kernel's module inventory: the modules it has
// loaded (/proc/modules), those built into it (/sys/module,
// modules.builtin), their taint, version, the .ko file behind each loaded
// one with its SHA-256, its appended signature's signer and its .modinfo
// fields. Every path is read under a root directory, so that tests read
// fixture trees in the kernel's own formats and the agent reads "/".
package kmod

import (
	"strconv"
	"strings"
)

// Taint is one of the kernel's taint flags, as
// Documentation/admin-guide/tainted-kernels.rst tables them.
type Taint struct {
	Bit    uint
	Letter byte
	Name   string
}

// taints is the kernel's table, by bit. Bit 0 prints 'P' when set and
// 'G' when not; only P is a taint.
var taints = [...]Taint{
	{0, 'P', "proprietary_module"},
	{1, 'F', "forced_load"},
	{2, 'S', "out_of_spec_system"},
	{3, 'R', "forced_unload"},
	{4, 'M', "machine_check"},
	{5, 'B', "bad_page"},
	{6, 'U', "user_requested"},
	{7, 'D', "kernel_died"},
	{8, 'A', "acpi_table_overridden"},
	{9, 'W', "warning"},
	{10, 'C', "staging_driver"},
	{11, 'I', "firmware_workaround"},
	{12, 'O', "out_of_tree_module"},
	{13, 'E', "unsigned_module"},
	{14, 'L', "soft_lockup"},
	{15, 'K', "live_patched"},
	{16, 'X', "auxiliary"},
	{17, 'T', "struct_randomization"},
	{18, 'N', "test_module"},
	{19, 'J', "fwctl_debug_write"},
}

// Taints is the kernel's taint table, by bit.
func Taints() []Taint { return taints[:] }

// TaintsOfMask decodes /proc/sys/kernel/tainted's bitmask. Bits the table
// does not know come back named "bit_N".
func TaintsOfMask(mask uint64) []Taint {
	var out []Taint
	for bit := uint(0); bit < 64; bit++ {
		if mask&(1<<bit) == 0 {
			continue
		}
		if int(bit) < len(taints) {
			out = append(out, taints[bit])
		} else {
			out = append(out, Taint{Bit: bit, Letter: '?', Name: "bit_" + strconv.Itoa(int(bit))})
		}
	}
	return out
}

// TaintsOfLetters decodes a module's taint letters ("OE", as /proc/modules
// shows them in parentheses and /sys/module/NAME/taint holds them). A
// letter the table does not know comes back named "unknown_X".
func TaintsOfLetters(letters string) []Taint {
	var out []Taint
	for i := 0; i < len(letters); i++ {
		c := letters[i]
		if c == 'G' || c == ' ' || c == '\n' { // G: "not proprietary", no taint
			continue
		}
		t, ok := taintByLetter(c)
		if !ok {
			t = Taint{Bit: 64, Letter: c, Name: "unknown_" + string(c)}
		}
		out = append(out, t)
	}
	return out
}

func taintByLetter(c byte) (Taint, bool) {
	for _, t := range taints {
		if t.Letter == c {
			return t, true
		}
	}
	return Taint{}, false
}

// TaintNames are the names of ts, in order.
func TaintNames(ts []Taint) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

// TaintLetters are the letters of ts, in order.
func TaintLetters(ts []Taint) string {
	var b strings.Builder
	for _, t := range ts {
		b.WriteByte(t.Letter)
	}
	return b.String()
}
