package lsm

import (
	"fmt"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// WireKind is the record kind of the hooks (KIND_ENFORCE_LSM).
const WireKind = wire.EnforceLSM

var recordSize = int(unsafe.Sizeof(lsmLsmEnforce{}))

// Decoder turns the hooks' records into events, dated by its Clock.
type Decoder struct{ wire.Clock }

// Decode decodes a KIND_ENFORCE_LSM record into the event it refused: a
// process_exec, a file_open or a module_load, with action denied (the call
// failed with EPERM) or would_deny.
func (d Decoder) Decode(raw []byte) (*event.Event, error) {
	h, r, err := wire.FixedRecord[lsmLsmEnforce](raw, WireKind)
	if err != nil {
		return nil, err
	}
	if r.PathLen >= uint32(len(r.Path)) {
		return nil, fmt.Errorf("%w: lsm record path length %d", wire.ErrMalformed, r.PathLen)
	}
	action, err := pinned.CheckHit(r.Hit.Policy, r.Hit.Action, pinned.ActionDenied, pinned.ActionWouldDeny)
	if err != nil {
		return nil, err
	}
	enf := &event.Enforcement{PolicyID: int(r.Hit.Policy), Action: pinned.EventAction(action),
		Mechanism: event.MechanismKernel, Match: event.EnforceMatch{Dev: uint64(r.Dev), Ino: r.Ino}}
	path := make([]byte, r.PathLen)
	for i := range path {
		path[i] = byte(r.Path[i])
	}
	ev := d.Event(h, "") // the operation says the kind
	ev.Syscall, ev.Enforcement = &event.Syscall{Ret: 0}, enf
	if enf.Action == event.ActionDenied {
		ev.Syscall.Ret, ev.Syscall.Error = -1, "EPERM"
	}
	switch lsmLsmOp(r.Op) {
	case lsmLsmOpLSM_OP_EXEC:
		ev.Kind, enf.Hook, ev.Syscall.Name = event.KindProcessExec, "lsm/bprm_check_security", "execve"
		ev.Process.Filename = string(path)
		ev.Process.Executable = &event.FileID{Dev: r.Dev, Inode: r.Ino}
	case lsmLsmOpLSM_OP_OPEN:
		ev.Kind, enf.Hook, ev.Syscall.Name = event.KindFileOpen, "lsm/file_open", "open"
		ev.File = &event.File{Path: string(path), Dev: r.Dev, Inode: r.Ino, PathSource: "kernel"}
	case lsmLsmOpLSM_OP_MODULE:
		ev.Kind, enf.Hook, ev.Syscall.Name = event.KindModuleLoad, "lsm/kernel_read_file", "finit_module"
		if r.Ino == 0 {
			enf.Hook, ev.Syscall.Name = "lsm/kernel_load_data", "init_module"
		}
		ev.Module = &event.Module{Path: string(path)}
	default:
		return nil, fmt.Errorf("%w: lsm operation %d", wire.ErrMalformed, r.Op)
	}
	return ev, nil
}
