// Package wire is the Go half of the record contract that bpf/lib/common.h
// and bpf/lib/blob.h declare: the header every ring record starts with, the
// record kinds and drop reasons (generated here, and only here, by bpf2go),
// the bounds-checked reader of a record's blob of strings, the bare process
// a header names and the clock that dates records. Sensors and enforcement
// mechanisms both decode on top of it; internal/ring carries the records.
package wire

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/event"
)

// Header starts every record; see struct record_header in bpf/lib/common.h.
type Header = wireRecordHeader

// HeaderSize is the size of Header on the wire.
const HeaderSize = int(unsafe.Sizeof(Header{}))

// Wire kinds, as enum record_kind numbers them, for the decoders registered
// one by one; the table of kinds (internal/event) numbers every kind.
const (
	ProcessExec = uint16(wireRecordKindKIND_PROCESS_EXEC)
	ProcessExit = uint16(wireRecordKindKIND_PROCESS_EXIT)
	ProcessFork = uint16(wireRecordKindKIND_PROCESS_FORK)

	EnforceExec   = uint16(wireRecordKindKIND_ENFORCE_EXEC)
	EnforceFile   = uint16(wireRecordKindKIND_ENFORCE_FILE)
	EnforceNet    = uint16(wireRecordKindKIND_ENFORCE_NET)
	EnforceModule = uint16(wireRecordKindKIND_ENFORCE_MODULE)
	ExecHold      = uint16(wireRecordKindKIND_EXEC_HOLD)
	EnforceLSM    = uint16(wireRecordKindKIND_ENFORCE_LSM)
)

// KindCount bounds the wire kinds (KIND_COUNT): the loss counters keep
// KindCount kinds per reason.
const KindCount = uint16(wireRecordKindKIND_COUNT)

// Drop reasons, as enum drop_reason numbers them. A loss counter's key is
// reason*KindCount + kind.
const (
	DropRingbufFull = uint32(wireDropReasonDROP_RINGBUF_FULL)
	DropTruncated   = uint32(wireDropReasonDROP_TRUNCATED)
	DropMapFull     = uint32(wireDropReasonDROP_MAP_FULL)
)

// KindName names a wire kind as events do (enforcement records by their
// record names); an unknown one is "kind_N".
func KindName(k uint16) event.Kind {
	if row, ok := event.KindOfWire(k); ok {
		return row.Kind
	}
	return event.Kind(fmt.Sprintf("kind_%d", k))
}

// Kind is the wire number of an event kind, and whether it has one.
func Kind(k event.Kind) (uint16, bool) {
	row, ok := event.LookupKind(k)
	return row.Wire, ok
}

// ErrMalformed marks a record that does not parse; it is counted, never
// passed on.
var ErrMalformed = errors.New("malformed record")

// ParseHeader checks that raw holds a whole record and returns its header.
func ParseHeader(raw []byte) (Header, error) {
	if len(raw) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, shorter than a header", ErrMalformed, len(raw))
	}
	h, _ := Fixed[Header](raw)
	if int(h.Size) != len(raw) {
		return h, fmt.Errorf("%w: header says %d bytes, record has %d", ErrMalformed, h.Size, len(raw))
	}
	return h, nil
}

// Fixed copies the fixed-size struct at the start of raw into a T: a copy,
// so the record buffer's alignment does not matter. ok is false when raw is
// too short.
func Fixed[T any](raw []byte) (v T, ok bool) {
	n := int(unsafe.Sizeof(v))
	if len(raw) < n {
		return v, false
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&v)), n), raw)
	return v, true
}

// HeaderOf is the header at the start of raw (zero when raw is shorter), for
// a decoder that has checked raw's length already. bpf2go gives each
// object's records a header field of its own unnamed type, so decoders take
// the header from the bytes rather than from that field.
func HeaderOf(raw []byte) Header {
	h, _ := Fixed[Header](raw)
	return h
}
