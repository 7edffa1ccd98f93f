package modguard

import (
	"fmt"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// WireKind is the record kind the guard writes (KIND_ENFORCE_MODULE).
const WireKind = wire.EnforceModule

// Record is a KIND_ENFORCE_MODULE record, decoded, with everything the
// kernel put in it; Decode makes the event from it.
type Record struct {
	PID, TID uint32
	CgroupID uint64
	Ktime    uint64
	Policy   int
	Action   pinned.Action
	Syscall  string // "init_module" or "finit_module"
	Ret      int64  // what the call returned; < 0 is -errno
	// Len and Params are init_module's image length and parameter string
	// (at most 255 bytes; ParamsCut when it filled them).
	Len    uint64
	Params string
	// FD and Flags are finit_module's, and Path the kernel's path of the
	// file FD named at the call's exit; NoFile when it named none.
	FD    int32
	Flags uint32
	Path  string
	// Name is the module's name, where module/module_load told it.
	Name                            string
	ParamsCut, ParamsFault, PathCut bool
	NoFile, Compat, Dispatched      bool
	// AllowChanged: an allowlist approved the file, but it changed (size
	// or change time) since it was hashed, so it was not approved.
	AllowChanged bool
}

var recordSize = int(unsafe.Sizeof(modguardModEnforce{}))

// DecodeRecord checks and decodes a raw record; every length and offset is
// checked against the record, so a malformed one is an error wrapping
// wire.ErrMalformed, never a panic.
func DecodeRecord(raw []byte) (Record, error) {
	h, r, err := wire.Record[modguardModEnforce](raw, WireKind)
	if err != nil {
		return Record{}, err
	}
	var sys string
	switch modguardModSyscall(r.Syscall) {
	case modguardModSyscallMOD_INIT_MODULE:
		sys = "init_module"
	case modguardModSyscallMOD_FINIT_MODULE:
		sys = "finit_module"
	default:
		return Record{}, fmt.Errorf("%w: module guard record from call %d", wire.ErrMalformed, r.Syscall)
	}
	action, err := pinned.CheckHit(r.Hit.Policy, r.Hit.Action, pinned.ActionKilled, pinned.ActionWouldKill)
	if err != nil {
		return Record{}, err
	}
	blob := wire.NewBlob(raw[recordSize:])
	path, params, name := blob.Path(r.Path.Off, r.Path.Len), blob.String(r.Params.Off, r.Params.Len), blob.String(r.Name.Off, r.Name.Len)
	if err := blob.Err(); err != nil {
		return Record{}, err
	}
	info := modguardModInfo(r.Info)
	rec := Record{
		PID: h.Pid, TID: h.Tid, CgroupID: h.CgroupId, Ktime: h.Ktime,
		Policy:       int(r.Hit.Policy),
		Action:       action,
		Syscall:      sys,
		Ret:          r.Ret,
		Len:          r.Len,
		Params:       params,
		FD:           r.Fd,
		Flags:        r.Flags,
		Name:         name,
		ParamsCut:    info&modguardModInfoMOD_PARAMS_CUT != 0,
		ParamsFault:  info&modguardModInfoMOD_PARAMS_FAULT != 0,
		PathCut:      info&modguardModInfoMOD_PATH_CUT != 0,
		NoFile:       info&modguardModInfoMOD_NO_FILE != 0,
		Compat:       info&modguardModInfoMOD_COMPAT != 0,
		Dispatched:   info&modguardModInfoMOD_DISPATCHED != 0,
		AllowChanged: info&modguardModInfoMOD_ALLOW_CHANGED != 0,
		Path:         path,
	}
	return rec, nil
}

// Hook is where the decision was made, as event.Enforcement names it.
func (r Record) Hook() string {
	if r.Dispatched {
		return "sys_enter"
	}
	return "sys_enter_" + r.Syscall
}

// Decoder turns the guard's records into events, dated by its Clock (a
// nil one leaves Event.Time zero).
type Decoder struct{ wire.Clock }

// Decode decodes a KIND_ENFORCE_MODULE record into a module_load event
// with its enforcement. Syscall.Args are those docs/events.md lists for
// module_load: init_module [len], finit_module [fd, flags].
func (d Decoder) Decode(raw []byte) (*event.Event, error) {
	r, err := DecodeRecord(raw)
	if err != nil {
		return nil, err
	}
	ev := d.Event(wire.HeaderOf(raw), event.KindModuleLoad)
	ev.Syscall = &event.Syscall{Name: r.Syscall, Ret: r.Ret, Error: wire.ErrnoName(r.Ret)}
	ev.Module = &event.Module{Name: r.Name, Path: r.Path}
	ev.Enforcement = &event.Enforcement{
		PolicyID:  r.Policy,
		Action:    pinned.EventAction(r.Action),
		Mechanism: event.MechanismKernel,
		Hook:      r.Hook(),
	}
	if r.Syscall == "init_module" {
		ev.Syscall.Args = []int64{int64(r.Len)}
	} else {
		ev.Syscall.Args = []int64{int64(r.FD), int64(r.Flags)}
	}
	return ev, nil
}
