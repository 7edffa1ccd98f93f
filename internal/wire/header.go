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
	// ProcessRename is a comm changed after exec.
	ProcessRename = uint16(wireRecordKindKIND_PROCESS_RENAME)
	// ProcessSignal is a fatal or stopping signal sent to another process.
	ProcessSignal = uint16(wireRecordKindKIND_PROCESS_SIGNAL)

	EnforceExec   = uint16(wireRecordKindKIND_ENFORCE_EXEC)
	EnforceFile   = uint16(wireRecordKindKIND_ENFORCE_FILE)
	EnforceNet    = uint16(wireRecordKindKIND_ENFORCE_NET)
	EnforceModule = uint16(wireRecordKindKIND_ENFORCE_MODULE)
	ExecHold      = uint16(wireRecordKindKIND_EXEC_HOLD)
	EnforceLSM    = uint16(wireRecordKindKIND_ENFORCE_LSM)

	OOMKill = uint16(wireRecordKindKIND_OOM_KILL)

	IOURingCreate  = uint16(wireRecordKindKIND_IO_URING_CREATE)
	IOURingOpen    = uint16(wireRecordKindKIND_IO_URING_OPEN)
	IOURingConnect = uint16(wireRecordKindKIND_IO_URING_CONNECT)
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

// Record checks that raw is a record of kind holding at least a T (the
// record's fixed part, header included) and copies out its header and that
// T; what follows the T is the record's blob. A record that is not is an
// error wrapping ErrMalformed.
func Record[T any](raw []byte, kind uint16) (Header, T, error) {
	h, err := ParseHeader(raw)
	v, ok := Fixed[T](raw)
	if err != nil {
		return h, v, err
	}
	if !ok || h.Kind != kind {
		return h, v, fmt.Errorf("%w: kind %d record of %d bytes, want kind %d (%s) of at least %d",
			ErrMalformed, h.Kind, len(raw), kind, KindName(kind), unsafe.Sizeof(v))
	}
	return h, v, nil
}

// FixedRecord is Record for a record that is a T and nothing more.
func FixedRecord[T any](raw []byte, kind uint16) (Header, T, error) {
	h, v, err := Record[T](raw, kind)
	if n := int(unsafe.Sizeof(v)); err == nil && len(raw) != n {
		err = fmt.Errorf("%w: %s record of %d bytes, want %d", ErrMalformed, KindName(kind), len(raw), n)
	}
	return h, v, err
}

// HeaderOf is the header at the start of raw (zero when raw is shorter), for
// a decoder that has checked raw's length already. bpf2go gives each
// object's records a header field of its own unnamed type, so decoders take
// the header from the bytes rather than from that field.
func HeaderOf(raw []byte) Header {
	h, _ := Fixed[Header](raw)
	return h
}
