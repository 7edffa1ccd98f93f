package fileguard

import (
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/event"
)

// build makes a record as the kernel would, with blob after the fixed part.
func build(r fileguardFileEnforce, blob string) []byte {
	r.Hdr.Kind = WireKind
	r.Hdr.Size = uint32(recordSize + len(blob))
	return append(enforcetest.Raw(&r), blob...)
}

func sample() fileguardFileEnforce {
	var r fileguardFileEnforce
	r.Hdr.Pid, r.Hdr.Tid, r.Hdr.CgroupId = 10, 11, 12
	r.Hit.Policy, r.Hit.Action = 5, 2 // would_kill
	r.Fd, r.Ino, r.Dev, r.MatchIno, r.MatchDev, r.Depth = 3, 100, 8<<20|1, 50, 8<<20|1, 1
	r.F_flags = 0o2 | 0o100000 | 0o2000000
	r.CallFlags = 0o2 | 0o1000 | 0o2000000
	r.Syscall = uint16(fileguardGuardSyscallGUARD_OPENAT2)
	r.Info = uint32(fileguardGuardInfoGUARD_WRITE | fileguardGuardInfoGUARD_READ)
	r.Path.Off, r.Path.Len = 0, 11
	return r
}

func TestDecodeFields(t *testing.T) {
	ev, err := Decoder{}.Decode(build(sample(), "shadow\x00etc\x00"))
	if err != nil {
		t.Fatal(err)
	}
	f, en := ev.File, ev.Enforcement
	if ev.Kind != event.KindFileOpen || f.Path != "/etc/shadow" || f.Inode != 100 || f.Dev != 8<<20|1 ||
		ev.Process.PID != 10 || ev.Process.TID != 11 || ev.Process.Cgroup.ID != 12 {
		t.Errorf("event %+v file %+v", ev, f)
	}
	if !slices.Equal(f.Flags, []string{"O_RDWR", "O_TRUNC", "O_LARGEFILE", "O_CLOEXEC"}) {
		t.Errorf("flags %v", f.Flags)
	}
	if en.PolicyID != 5 || en.Action != event.ActionWouldKill || en.Hook != "sys_exit_openat2" || en.Mechanism != "kernel" {
		t.Errorf("enforcement %+v", en)
	}
	if ev.Syscall.Name != "openat2" || ev.Syscall.Ret != 3 {
		t.Errorf("syscall %+v", ev.Syscall)
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	good := build(sample(), "shadow\x00etc\x00")
	bad := map[string][]byte{
		"short":        good[:recordSize-1],
		"size":         good[:len(good)-1],
		"path overrun": func() []byte { r := sample(); r.Path.Len = 12; return build(r, "shadow\x00etc\x00") }(),
		"kind":         func() []byte { b := slices.Clone(good); b[0] = 50; return b }(),
		"syscall":      func() []byte { r := sample(); r.Syscall = 9; return build(r, "") }(),
		"action":       func() []byte { r := sample(); r.Hit.Action = 3; return build(r, "") }(),
		"policy":       func() []byte { r := sample(); r.Hit.Policy = 64; return build(r, "") }(),
	}
	enforcetest.WantMalformed(t, func(raw []byte) error { _, err := (Decoder{}).Decode(raw); return err }, bad)
}

// FuzzDecode: no input panics, and whatever decodes is a whole record.
// The seeds in testdata/fuzz/FuzzDecode are records the kernel tests
// captured (go test -run . -capture).
func FuzzDecode(f *testing.F) {
	f.Add(build(sample(), "shadow\x00etc\x00"))
	enforcetest.FuzzDecoder(f, Decoder{}.Decode, func(t *testing.T, ev *event.Event, raw []byte) {
		if ev.File == nil || ev.Enforcement == nil || len(raw) < recordSize {
			t.Fatalf("decoded %+v from %d bytes", ev, len(raw))
		}
	})
}
