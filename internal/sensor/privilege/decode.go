package privilege

import (
	"fmt"
	"time"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// Decoder turns the sensor's records, of every kind it produces, into
// events. It checks every length and offset against the record, so a
// malformed record yields an error, never a panic or a read past it.
type Decoder struct {
	clock wire.Clock
	bpf   BPFNames
	calls *callTable
}

// NewDecoder returns a decoder converting kernel boot-clock nanoseconds
// with bootTime and naming bpf() values with names.
func NewDecoder(bootTime func(bootNS uint64) time.Time, names BPFNames) *Decoder {
	return &Decoder{clock: bootTime, bpf: names, calls: newCallTable()}
}

// fixed reads a record's fixed part and hands out the blob behind it.
func fixed[T any](raw []byte) (T, blob, error) {
	v, ok := wire.Fixed[T](raw)
	size := int(unsafe.Sizeof(v))
	if !ok {
		return v, blob{}, fmt.Errorf("%w: %T record of %d bytes, want at least %d", wire.ErrMalformed, v, len(raw), size)
	}
	return v, blob{wire.NewBlob(raw[size:])}, nil
}

// Decode decodes one record. The process is the bare one the kernel
// named; the enrich stage completes it.
func (d *Decoder) Decode(raw []byte) (*event.Event, error) {
	info, _, err := fixed[privilegeCallInfo](raw)
	if err != nil {
		return nil, err
	}
	spec := d.calls.get(info.Call)
	if spec == nil {
		return nil, fmt.Errorf("%w: unknown call %d", wire.ErrMalformed, info.Call)
	}
	kind := wire.KindName(info.Hdr.Kind)
	if kind != spec.kind {
		return nil, fmt.Errorf("%w: a %s record for %s, which makes %s", wire.ErrMalformed, kind, spec.name, spec.kind)
	}
	ev := d.clock.Event(wire.HeaderOf(raw), kind)
	ev.Syscall = &event.Syscall{
		Name:  spec.name,
		Ret:   info.Ret,
		Error: wire.ErrnoName(info.Ret),
		Args:  intArgs(spec.args, info.Args),
	}
	switch kind {
	case event.KindPrivilegeChange:
		err = decodeCreds(ev, raw)
	case event.KindPtrace, event.KindProcessVMWrite:
		err = decodeTarget(ev, raw)
	case event.KindNamespaceChange:
		err = decodeNamespace(ev, raw)
	case event.KindMount, event.KindUmount, event.KindPivotRoot, event.KindChroot:
		err = decodeMount(ev, raw)
	case event.KindModuleLoad, event.KindModuleUnload:
		err = decodeModule(ev, raw)
	case event.KindBPFLoad:
		err = d.decodeBPF(ev, raw)
	}
	if err != nil {
		return nil, err
	}
	return ev, nil
}

// intArgs are the integer arguments, in order: ids and descriptors as
// the 32-bit signed values they are (-1 means "unchanged" for set*id),
// flags and sizes whole. Pointers are left out.
func intArgs(kinds string, args [6]uint64) []int64 {
	out := make([]int64, 0, len(kinds))
	for i := 0; i < len(kinds) && i < len(args); i++ {
		switch kinds[i] {
		case 'i':
			out = append(out, int64(int32(uint32(args[i]))))
		case 'u':
			out = append(out, int64(args[i]))
		}
	}
	return out
}

func creds(c privilegePrivCreds) event.Creds {
	return event.Creds{UID: c.Uid, EUID: c.Euid, SUID: c.Suid, FSUID: c.Fsuid, GID: c.Gid, EGID: c.Egid, SGID: c.Sgid, FSGID: c.Fsgid}
}

func caps(c privilegePrivCaps) *event.Caps {
	return &event.Caps{Effective: capList(c.Effective), Permitted: capList(c.Permitted), Inheritable: capList(c.Inheritable)}
}
