package privilege

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// The seeds in testdata/fuzz are records captured from the kernel
// (CI=true go test -run . -capture); go test runs them every time.

func fixedDecoder() *Decoder {
	return NewDecoder(func(ns uint64) time.Time { return time.Unix(0, int64(ns)) }, BPFNames{})
}

func FuzzDecode(f *testing.F) {
	d := fixedDecoder()
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := d.Decode(raw)
		if err != nil {
			if !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if ev.Process == nil || ev.Syscall == nil || ev.Syscall.Name == "" {
			t.Fatalf("event without process or syscall: %+v", ev)
		}
		if !isKind(ev.Kind) {
			t.Fatalf("kind %q is not one of the sensor's", ev.Kind)
		}
		if ev.Syscall.Ret < 0 && ev.Syscall.Ret >= -4095 && ev.Syscall.Error == "" {
			t.Fatalf("ret %d without an error name", ev.Syscall.Ret)
		}
		if !hasItsObject(ev) {
			t.Fatalf("a %s event without its object: %+v", ev.Kind, ev)
		}
		if ev.Namespace != nil && ev.Namespace.Types == nil {
			t.Fatal("namespace types must be an array, even when empty")
		}
	})
}

// hasItsObject: each kind carries the object docs/events.md says it does.
func hasItsObject(ev *event.Event) bool {
	switch ev.Kind {
	case event.KindPrivilegeChange:
		return ev.Privilege != nil
	case event.KindPtrace, event.KindProcessVMWrite:
		return ev.Target != nil
	case event.KindNamespaceChange:
		return ev.Namespace != nil
	case event.KindMount, event.KindUmount, event.KindPivotRoot:
		return ev.Mount != nil
	case event.KindChroot:
		return ev.File != nil
	case event.KindModuleLoad, event.KindModuleUnload:
		return ev.Module != nil
	case event.KindBPFLoad:
		return ev.BPF != nil
	}
	return true
}

func isKind(k event.Kind) bool {
	for _, want := range Kinds() {
		if k == want {
			return true
		}
	}
	return false
}

// record builds a record of type T with its header and call filled in.
func build[T any](fill func(*T)) []byte {
	var v T
	fill(&v)
	return unsafe.Slice((*byte)(unsafe.Pointer(&v)), unsafe.Sizeof(v))
}

func header(kind event.Kind, call privilegePrivCall, size int) privilegeCallInfo {
	wire, _ := wire.Kind(kind)
	var c privilegeCallInfo
	c.Hdr.Kind, c.Hdr.Size, c.Hdr.Pid, c.Hdr.Tid = wire, uint32(size), 42, 43
	c.Call = call
	return c
}

func TestDecodeRejectsMalformed(t *testing.T) {
	d := fixedDecoder()
	good := build(func(r *privilegeNsInfo) {
		r.Call = header(event.KindNamespaceChange, privilegePrivCallCALL_UNSHARE, int(unsafe.Sizeof(*r)))
		r.Types = 1 << 30
	})
	if _, err := d.Decode(good); err != nil {
		t.Fatalf("a good record: %v", err)
	}
	for name, raw := range map[string][]byte{
		"short": good[:20],
		"kind and call disagree": build(func(r *privilegeNsInfo) {
			r.Call = header(event.KindMount, privilegePrivCallCALL_UNSHARE, int(unsafe.Sizeof(*r)))
		}),
		"unknown call": build(func(r *privilegeNsInfo) {
			r.Call = header(event.KindNamespaceChange, privilegePrivCallCALL_COUNT, int(unsafe.Sizeof(*r)))
		}),
		"string past the end": build(func(r *privilegeMountInfo) {
			r.Call = header(event.KindMount, privilegePrivCallCALL_MOUNT, int(unsafe.Sizeof(*r)))
			r.Target = privilegeStrRef{Off: 0, Len: 10}
		}),
		"fixed part cut": build(func(r *privilegeCredInfo) {
			r.Call = header(event.KindPrivilegeChange, privilegePrivCallCALL_SETUID, int(unsafe.Sizeof(*r)))
		})[:int(unsafe.Sizeof(privilegeCallInfo{}))+8],
	} {
		if _, err := d.Decode(raw); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestIntArgs(t *testing.T) {
	args := [6]uint64{0xffffffff, 65534, 0xffffffffffffffff, 1 << 40}
	got := intArgs("iipu", args)
	want := []int64{-1, 65534, 1 << 40}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("intArgs = %v, want %v", got, want)
	}
}

func TestNames(t *testing.T) {
	if got := capList(1<<21 | 1<<63); len(got) != 2 || got[0] != "CAP_SYS_ADMIN" || got[1] != "CAP_63" {
		t.Errorf("capList = %v", got)
	}
	if got := mountFlagList(0xC0ED0000 | 4096 | 1<<14); strings.Join(got, ",") != "MS_BIND,MS_REC" {
		t.Errorf("mount flags = %v, want MS_BIND,MS_REC without the magic", got)
	}
	if got := flagList(1|1<<40, umountFlags()); strings.Join(got, ",") != "MNT_FORCE,0x10000000000" {
		t.Errorf("umount flags = %v", got)
	}
	if got := wire.ErrnoName(-1); got != "EPERM" {
		t.Errorf("wire.ErrnoName(-1) = %q", got)
	}
	if got := wire.ErrnoName(5); got != "" {
		t.Errorf("wire.ErrnoName(5) = %q, want none for a success", got)
	}
	if got := resolve("/a/b", "../c"); got != "/a/c" {
		t.Errorf("resolve = %q", got)
	}
	if got := resolve("", "rel"); got != "rel" {
		t.Errorf("resolve without base = %q", got)
	}
}
