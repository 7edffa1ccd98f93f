package modguard

import (
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/event"
)

// build makes a record as the kernel would, with blob after the fixed part.
func build(r modguardModEnforce, blob string) []byte {
	r.Hdr.Kind = WireKind
	r.Hdr.Size = uint32(recordSize + len(blob))
	return append(enforcetest.Raw(&r), blob...)
}

func sample() modguardModEnforce {
	var r modguardModEnforce
	r.Hdr.Pid, r.Hdr.Tid, r.Hdr.CgroupId = 10, 11, 12
	r.Hit.Policy, r.Hit.Action = 7, 1 // killed
	r.Ret, r.Fd, r.Flags = -38, 4, 2
	r.Syscall = uint16(modguardModSyscallMOD_FINIT_MODULE)
	r.Info = uint16(modguardModInfoMOD_DISPATCHED)
	r.Path.Off, r.Path.Len = 0, 9
	r.Name.Off, r.Name.Len = 9, 4
	return r
}

func TestDecodeFields(t *testing.T) {
	ev, err := Decoder{}.Decode(build(sample(), "x.ko\x00tmp\x00ext\x00"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != event.KindModuleLoad || ev.Module.Path != "/tmp/x.ko" || ev.Module.Name != "ext" ||
		ev.Syscall.Name != "finit_module" || ev.Syscall.Error != "ENOSYS" || !slices.Equal(ev.Syscall.Args, []int64{4, 2}) {
		t.Errorf("event %+v module %+v syscall %+v", ev, ev.Module, ev.Syscall)
	}
	want := event.Enforcement{PolicyID: 7, Action: event.ActionKilled, Mechanism: "kernel", Hook: "sys_enter"}
	if *ev.Enforcement != want {
		t.Errorf("enforcement %+v, want %+v", ev.Enforcement, want)
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	good := build(sample(), "x.ko\x00tmp\x00ext\x00")
	bad := map[string][]byte{
		"short":   good[:recordSize-1],
		"size":    good[:len(good)-1],
		"overrun": func() []byte { r := sample(); r.Name.Len = 5; return build(r, "x.ko\x00tmp\x00ext\x00") }(),
		"kind":    func() []byte { b := slices.Clone(good); b[0] = 51; return b }(),
		"syscall": func() []byte { r := sample(); r.Syscall = 3; return build(r, "") }(),
		"action":  func() []byte { r := sample(); r.Hit.Action = 4; return build(r, "") }(),
		"policy":  func() []byte { r := sample(); r.Hit.Policy = 99; return build(r, "") }(),
	}
	enforcetest.WantMalformed(t, func(raw []byte) error { _, err := (Decoder{}).Decode(raw); return err }, bad)
}

// FuzzDecode: no input panics, and whatever decodes is a whole record.
// The seeds in testdata/fuzz/FuzzDecode are records the kernel tests
// captured (go test -run . -capture).
func FuzzDecode(f *testing.F) {
	f.Add(build(sample(), "x.ko\x00tmp\x00ext\x00"))
	enforcetest.FuzzDecoder(f, Decoder{}.Decode, func(t *testing.T, ev *event.Event, raw []byte) {
		if ev.Module == nil || ev.Enforcement == nil || ev.Syscall == nil || len(raw) < recordSize {
			t.Fatalf("decoded %+v from %d bytes", ev, len(raw))
		}
	})
}
