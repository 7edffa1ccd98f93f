package memory

import (
	"bytes"
	"os"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/sensor"
	"github.com/vigil-sec/vigil/internal/wire"
)

// Decoder turns the observer's oom_kill records into events, dated by its
// Clock.
type Decoder struct{ wire.Clock }

// Decode decodes a KIND_OOM_KILL record. Its process is the victim as bare
// as the header names it; the enrich stage completes it.
func (d Decoder) Decode(raw []byte) (*event.Event, error) {
	h, r, err := wire.FixedRecord[memoryOomRecord](raw, wire.OOMKill)
	if err != nil {
		return nil, err
	}
	ev := d.Event(h, event.KindOOMKill)
	ev.OOM = &event.OOM{
		Comm:            cString(r.Comm[:]),
		UID:             r.Uid,
		OOMScoreAdj:     int(r.OomScoreAdj),
		TotalVMBytes:    r.TotalVmPages * uint64(os.Getpagesize()),
		TriggerPID:      r.TriggerPid,
		TriggerComm:     cString(r.TriggerComm[:]),
		TriggerCgroupID: r.TriggerCgroup,
	}
	return ev, nil
}

// Decoders are the observer's decoders by wire kind, for the agent.
func Decoders(clock wire.Clock) map[uint16]sensor.Decode {
	return map[uint16]sensor.Decode{wire.OOMKill: Decoder{clock}.Decode}
}

// cString is a NUL-terminated kernel string (comm) of c.
func cString(c []int8) string {
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(c))), len(c))
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
