package ring

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/event"
)

// Header starts every record; see struct record_header in bpf/lib/common.h.
type Header = ringRecordHeader

// HeaderSize is the size of Header on the wire.
const HeaderSize = int(unsafe.Sizeof(Header{}))

// Wire kinds, as enum record_kind numbers them.
const (
	WireProcessExec = uint16(ringRecordKindKIND_PROCESS_EXEC)
	WireProcessExit = uint16(ringRecordKindKIND_PROCESS_EXIT)
	WireProcessFork = uint16(ringRecordKindKIND_PROCESS_FORK)

	WireEnforceExec   = uint16(ringRecordKindKIND_ENFORCE_EXEC)
	WireEnforceFile   = uint16(ringRecordKindKIND_ENFORCE_FILE)
	WireEnforceNet    = uint16(ringRecordKindKIND_ENFORCE_NET)
	WireEnforceModule = uint16(ringRecordKindKIND_ENFORCE_MODULE)
	WireExecHold      = uint16(ringRecordKindKIND_EXEC_HOLD)
	WireEnforceLSM    = uint16(ringRecordKindKIND_ENFORCE_LSM)
)

// KindName names a wire kind as events do (enforcement records by their
// record names); an unknown one is "kind_N".
func KindName(k uint16) event.Kind {
	if row, ok := event.KindOfWire(k); ok {
		return row.Kind
	}
	return event.Kind(fmt.Sprintf("kind_%d", k))
}

// WireKind is the wire number of an event kind, and whether it has one.
func WireKind(k event.Kind) (uint16, bool) {
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
