package fileguard

import (
	"fmt"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/fileflags"
	"github.com/vigil-sec/vigil/internal/wire"
)

// WireKind is the record kind the guard writes (KIND_ENFORCE_FILE).
const WireKind = wire.EnforceFile

// Record is a KIND_ENFORCE_FILE record, decoded, with everything the
// kernel put in it; Decode makes the event from it.
type Record struct {
	PID, TID uint32
	CgroupID uint64
	Ktime    uint64
	Policy   int
	Action   pinned.Action
	Syscall  string // "openat", "open", "openat2", "creat", "open_by_handle_at"
	FD       int64  // what the open returned
	// File is the opened inode; Match the entry that matched: File
	// itself (Depth 0) or a subtree entry Depth directories above it.
	File, Match InodeKey
	Depth       int
	// FileFlags are the struct file's f_flags; CallFlags those the call
	// passed (the kernel clears O_CREAT, O_EXCL, O_NOCTTY and O_TRUNC
	// from f_flags once the open is done).
	FileFlags, CallFlags uint32
	FMode, InodeMode     uint32
	Write, Read          bool // what the open counted as
	Path                 string
	PathCut              bool
}

var recordSize = int(unsafe.Sizeof(fileguardFileEnforce{}))

var syscallNames = map[fileguardGuardSyscall]string{
	fileguardGuardSyscallGUARD_OPEN:              "open",
	fileguardGuardSyscallGUARD_OPENAT:            "openat",
	fileguardGuardSyscallGUARD_OPENAT2:           "openat2",
	fileguardGuardSyscallGUARD_CREAT:             "creat",
	fileguardGuardSyscallGUARD_OPEN_BY_HANDLE_AT: "open_by_handle_at",
}

// DecodeRecord checks and decodes a raw record; every length and offset is
// checked against the record, so a malformed one is an error wrapping
// wire.ErrMalformed, never a panic.
func DecodeRecord(raw []byte) (Record, error) {
	h, r, err := wire.Record[fileguardFileEnforce](raw, WireKind)
	if err != nil {
		return Record{}, err
	}
	sys, ok := syscallNames[fileguardGuardSyscall(r.Syscall)]
	if !ok {
		return Record{}, fmt.Errorf("%w: file guard record from call %d", wire.ErrMalformed, r.Syscall)
	}
	action, err := pinned.CheckHit(r.Hit.Policy, r.Hit.Action, pinned.ActionKilled, pinned.ActionWouldKill)
	if err != nil {
		return Record{}, err
	}
	blob := wire.NewBlob(raw[recordSize:])
	path := wire.Path(blob.Bytes(r.Path.Off, r.Path.Len))
	if err := blob.Err(); err != nil {
		return Record{}, err
	}
	info := fileguardGuardInfo(r.Info)
	return Record{
		PID: h.Pid, TID: h.Tid, CgroupID: h.CgroupId, Ktime: h.Ktime,
		Policy:    int(r.Hit.Policy),
		Action:    action,
		Syscall:   sys,
		FD:        r.Fd,
		File:      InodeKey{Dev: r.Dev, Ino: r.Ino},
		Match:     InodeKey{Dev: r.MatchDev, Ino: r.MatchIno},
		Depth:     int(r.Depth),
		FileFlags: r.F_flags,
		CallFlags: r.CallFlags,
		FMode:     r.F_mode,
		InodeMode: r.InoMode,
		Write:     info&fileguardGuardInfoGUARD_WRITE != 0,
		Read:      info&fileguardGuardInfoGUARD_READ != 0,
		Path:      path,
		PathCut:   info&fileguardGuardInfoGUARD_PATH_CUT != 0,
	}, nil
}

// Decoder turns the guard's records into events, dated by its Clock (a
// nil one leaves Event.Time zero).
type Decoder struct{ wire.Clock }

// Decode decodes a KIND_ENFORCE_FILE record into a file_open event with
// its enforcement. The process is what the kernel reported (pid, tid,
// cgroup); the process tree fills in the rest, and the enforce stage the
// policy's name from PolicyID.
func (d Decoder) Decode(raw []byte) (*event.Event, error) {
	r, err := DecodeRecord(raw)
	if err != nil {
		return nil, err
	}
	ev := d.Event(wire.HeaderOf(raw), event.KindFileOpen)
	ev.Syscall = &event.Syscall{Name: r.Syscall, Ret: r.FD}
	ev.File = &event.File{
		Path:       r.Path,
		Flags:      openFlagNames(r.Flags()),
		Inode:      r.File.Ino,
		Dev:        r.File.Dev,
		PathSource: "kernel",
	}
	ev.Enforcement = &event.Enforcement{
		PolicyID:  r.Policy,
		Action:    pinned.EventAction(r.Action),
		Mechanism: event.MechanismKernel,
		Hook:      "sys_exit_" + r.Syscall,
		Match:     event.EnforceMatch{Dev: uint64(r.Match.Dev), Ino: r.Match.Ino},
	}
	if r.PathCut {
		ev.File.Truncated = []string{"path"}
	}
	return ev, nil
}

// Flags are the open's flags: the struct file's, with the ones the kernel
// clears from it after the open taken from the call.
func (r Record) Flags() uint32 {
	return r.FileFlags | r.CallFlags&(fileflags.OCreat|fileflags.OExcl|fileflags.ONoctty|fileflags.OTrunc)
}
