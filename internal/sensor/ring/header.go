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
)

// KindName names a wire kind as events do.
func KindName(k uint16) event.Kind {
	switch ringRecordKind(k) {
	case ringRecordKindKIND_PROCESS_EXEC:
		return event.KindProcessExec
	case ringRecordKindKIND_PROCESS_EXIT:
		return event.KindProcessExit
	case ringRecordKindKIND_PROCESS_FORK:
		return event.KindProcessFork
	case ringRecordKindKIND_FILE_OPEN:
		return event.KindFileOpen
	case ringRecordKindKIND_FILE_UNLINK:
		return event.KindFileUnlink
	case ringRecordKindKIND_FILE_RENAME:
		return event.KindFileRename
	case ringRecordKindKIND_FILE_CHMOD:
		return event.KindFileChmod
	case ringRecordKindKIND_FILE_CHOWN:
		return event.KindFileChown
	case ringRecordKindKIND_FILE_LINK:
		return event.KindFileLink
	case ringRecordKindKIND_FILE_SYMLINK:
		return event.KindFileSymlink
	case ringRecordKindKIND_FILE_TRUNCATE:
		return event.KindFileTruncate
	case ringRecordKindKIND_FILE_MKDIR:
		return event.KindFileMkdir
	case ringRecordKindKIND_MEMFD_CREATE:
		return event.KindMemfdCreate
	case ringRecordKindKIND_NET_CONNECT:
		return event.KindNetConnect
	case ringRecordKindKIND_NET_ACCEPT:
		return event.KindNetAccept
	case ringRecordKindKIND_NET_LISTEN:
		return event.KindNetListen
	case ringRecordKindKIND_NET_BIND:
		return event.KindNetBind
	case ringRecordKindKIND_NET_SOCKET:
		return event.KindNetSocket
	case ringRecordKindKIND_NET_CLOSE:
		return event.KindNetClose
	case ringRecordKindKIND_DNS_QUERY:
		return event.KindDNSQuery
	case ringRecordKindKIND_FD_REDIRECT:
		return event.KindFdRedirect
	case ringRecordKindKIND_PRIVILEGE_CHANGE:
		return event.KindPrivilegeChange
	case ringRecordKindKIND_PTRACE:
		return event.KindPtrace
	case ringRecordKindKIND_PROCESS_VM_WRITEV:
		return event.KindProcessVMWrite
	case ringRecordKindKIND_NAMESPACE_CHANGE:
		return event.KindNamespaceChange
	case ringRecordKindKIND_MOUNT:
		return event.KindMount
	case ringRecordKindKIND_UMOUNT:
		return event.KindUmount
	case ringRecordKindKIND_CHROOT:
		return event.KindChroot
	case ringRecordKindKIND_PIVOT_ROOT:
		return event.KindPivotRoot
	case ringRecordKindKIND_MODULE_LOAD:
		return event.KindModuleLoad
	case ringRecordKindKIND_MODULE_UNLOAD:
		return event.KindModuleUnload
	case ringRecordKindKIND_BPF_LOAD:
		return event.KindBPFLoad
	case ringRecordKindKIND_KEXEC_LOAD:
		return event.KindKexecLoad
	case ringRecordKindKIND_USERFAULTFD:
		return event.KindUserfaultfd
	case ringRecordKindKIND_PERSONALITY:
		return event.KindPersonality
	}
	return event.Kind(fmt.Sprintf("kind_%d", k))
}

// WireKind is the wire number of an event kind, and whether it has one.
func WireKind(k event.Kind) (uint16, bool) {
	for w := uint16(1); w < uint16(ringRecordKindKIND_COUNT); w++ {
		if KindName(w) == k {
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
