package memory

import (
	"testing"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/wire"
)

// FuzzDecodeOOM: any bytes decode to an event or an error, never a panic
// or a read past the record. The seed is an oom_kill record as the kernel
// writes it, made from the generated type.
func FuzzDecodeOOM(f *testing.F) {
	var r memoryOomRecord
	r.H.Kind, r.H.Size, r.H.Pid, r.H.Tid, r.H.CgroupId = wire.OOMKill, uint32(unsafe.Sizeof(r)), 4242, 4242, 70040
	r.TriggerPid, r.TotalVmPages = 4242, 67507
	copy(r.Comm[:], []int8{'p', 'e', 'r', 'l'})
	seed := unsafe.Slice((*byte)(unsafe.Pointer(&r)), unsafe.Sizeof(r))
	f.Add(append([]byte(nil), seed...))
	f.Add(append([]byte(nil), seed[:20]...))
	d := Decoder{} // a nil clock dates nothing
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := d.Decode(raw)
		if err == nil && (ev.OOM == nil || ev.Process == nil) {
			t.Fatalf("decoded %d bytes into an oom_kill without its parts", len(raw))
		}
	})
}
