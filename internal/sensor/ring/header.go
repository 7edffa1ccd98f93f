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

// Names of the enforcement records: they are not event kinds (each
// becomes an alert about an event of the kind it acted on), but the loss
// counters and the record counts name them.
const (
	KindEnforceExec   event.Kind = "enforce_exec"
	KindEnforceFile   event.Kind = "enforce_file"
	KindEnforceNet    event.Kind = "enforce_net"
	KindEnforceModule event.Kind = "enforce_module"
	KindExecHold      event.Kind = "exec_hold"
	KindEnforceLSM    event.Kind = "enforce_lsm"
)

// KindName names a wire kind as events do; an unknown one is "kind_N".
func KindName(k uint16) event.Kind {
	if name, ok := kindName(k); ok {
		return name
	}
	return event.Kind(fmt.Sprintf("kind_%d", k))
}

func kindName(k uint16) (event.Kind, bool) {
	switch ringRecordKind(k) {
	case ringRecordKindKIND_PROCESS_EXEC:
		return event.KindProcessExec, true
	case ringRecordKindKIND_PROCESS_EXIT:
		return event.KindProcessExit, true
	case ringRecordKindKIND_PROCESS_FORK:
		return event.KindProcessFork, true
	case ringRecordKindKIND_FILE_OPEN:
		return event.KindFileOpen, true
	case ringRecordKindKIND_FILE_UNLINK:
		return event.KindFileUnlink, true
	case ringRecordKindKIND_FILE_RENAME:
		return event.KindFileRename, true
	case ringRecordKindKIND_FILE_CHMOD:
		return event.KindFileChmod, true
	case ringRecordKindKIND_FILE_CHOWN:
		return event.KindFileChown, true
	case ringRecordKindKIND_FILE_LINK:
		return event.KindFileLink, true
	case ringRecordKindKIND_FILE_SYMLINK:
		return event.KindFileSymlink, true
	case ringRecordKindKIND_FILE_TRUNCATE:
		return event.KindFileTruncate, true
	case ringRecordKindKIND_FILE_MKDIR:
		return event.KindFileMkdir, true
	case ringRecordKindKIND_MEMFD_CREATE:
		return event.KindMemfdCreate, true
	case ringRecordKindKIND_NET_CONNECT:
		return event.KindNetConnect, true
	case ringRecordKindKIND_NET_ACCEPT:
		return event.KindNetAccept, true
	case ringRecordKindKIND_NET_LISTEN:
		return event.KindNetListen, true
	case ringRecordKindKIND_NET_BIND:
		return event.KindNetBind, true
	case ringRecordKindKIND_NET_SOCKET:
		return event.KindNetSocket, true
	case ringRecordKindKIND_NET_CLOSE:
		return event.KindNetClose, true
	case ringRecordKindKIND_DNS_QUERY:
		return event.KindDNSQuery, true
	case ringRecordKindKIND_FD_REDIRECT:
		return event.KindFdRedirect, true
	case ringRecordKindKIND_PRIVILEGE_CHANGE:
		return event.KindPrivilegeChange, true
	case ringRecordKindKIND_PTRACE:
		return event.KindPtrace, true
	case ringRecordKindKIND_PROCESS_VM_WRITEV:
		return event.KindProcessVMWrite, true
	case ringRecordKindKIND_NAMESPACE_CHANGE:
		return event.KindNamespaceChange, true
	case ringRecordKindKIND_MOUNT:
		return event.KindMount, true
	case ringRecordKindKIND_UMOUNT:
		return event.KindUmount, true
	case ringRecordKindKIND_CHROOT:
		return event.KindChroot, true
	case ringRecordKindKIND_PIVOT_ROOT:
		return event.KindPivotRoot, true
	case ringRecordKindKIND_MODULE_LOAD:
		return event.KindModuleLoad, true
	case ringRecordKindKIND_MODULE_UNLOAD:
		return event.KindModuleUnload, true
	case ringRecordKindKIND_BPF_LOAD:
		return event.KindBPFLoad, true
	case ringRecordKindKIND_KEXEC_LOAD:
		return event.KindKexecLoad, true
	case ringRecordKindKIND_USERFAULTFD:
		return event.KindUserfaultfd, true
	case ringRecordKindKIND_PERSONALITY:
		return event.KindPersonality, true
	case ringRecordKindKIND_ENFORCE_EXEC:
		return KindEnforceExec, true
	case ringRecordKindKIND_ENFORCE_FILE:
		return KindEnforceFile, true
	case ringRecordKindKIND_ENFORCE_NET:
		return KindEnforceNet, true
	case ringRecordKindKIND_ENFORCE_MODULE:
		return KindEnforceModule, true
	case ringRecordKindKIND_EXEC_HOLD:
		return KindExecHold, true
	case ringRecordKindKIND_ENFORCE_LSM:
		return KindEnforceLSM, true
	}
	return "", false
}

// WireKind is the wire number of an event kind, and whether it has one.
func WireKind(k event.Kind) (uint16, bool) {
	for w := uint16(1); w < uint16(ringRecordKindKIND_COUNT); w++ {
		if name, ok := kindName(w); ok && name == k {
			return w, true
		}
	}
	return 0, false
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
