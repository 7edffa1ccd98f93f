package process

import (
	"fmt"
	"math"
	"path"
	"time"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/capability"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// Decoder turns the sensor's records into events. It checks every length
// and offset against the record, so a malformed record yields an error,
// never a panic or a read past the record. Its Clock dates the events.
// Its Shared, when set, gives the processes it decodes shared copies of
// what they repeat (shared.go); a Decoder with one is then for one
// goroutine, as the agent's pipeline is.
type Decoder struct {
	wire.Clock
	Shared *Shared
}

// NewDecoder is the decoder the agent runs: dated by clock, with a table
// of shared strings and files of its own.
func NewDecoder(clock wire.Clock) Decoder { return Decoder{Clock: clock, Shared: NewShared()} }

var execInfoSize = int(unsafe.Sizeof(processExecInfo{}))

// Exec decodes a process_exec record. The process it returns is what the
// kernel reported; ancestry, container and exec ids are added downstream.
func (d Decoder) Exec(raw []byte) (*event.Event, error) {
	info, ok := wire.Fixed[processExecInfo](raw)
	if !ok {
		return nil, fmt.Errorf("%w: exec record of %d bytes, want at least %d", wire.ErrMalformed, len(raw), execInfoSize)
	}
	s := wire.NewBlob(raw[execInfoSize:])
	flags := processExecFlag(info.Flags)
	sh := d.Shared
	strs := sh.strings()
	p := &event.Process{
		PID:       info.Hdr.Pid,
		TID:       info.Hdr.Tid,
		PPID:      info.Ppid,
		VPID:      info.Vpid,
		UID:       info.Uid,
		EUID:      info.Euid,
		GID:       info.Gid,
		EGID:      info.Egid,
		AUID:      sh.auid(info.Auid),
		Comm:      strs.Bytes(wire.CBytes(info.Comm[:])),
		Binary:    strs.Path(s.Bytes(info.Binary.Off, info.Binary.Len)),
		Filename:  strs.Bytes(wire.CBytes(s.Bytes(info.Filename.Off, info.Filename.Len))),
		Args:      s.ArgsIn(sh.argvStrings(), info.Args.Off, info.Args.Len),
		Env:       splitEnv(s.Args(info.Env.Off, info.Env.Len)),
		Cwd:       strs.Path(s.Bytes(info.Cwd.Off, info.Cwd.Len)),
		TTY:       sh.ttyName(wire.CBytes(s.Bytes(info.Tty.Off, info.Tty.Len))),
		StartTime: d.At(info.StartTime),
		Executable: sh.file(event.FileID{
			Dev:     info.Dev,
			Inode:   info.Ino,
			Mode:    info.Mode,
			Size:    info.Size,
			Mtime:   time.Unix(info.MtimeSec, int64(info.MtimeNsec)).UTC(),
			Deleted: flags&processExecFlagEXEC_BINARY_DELETED != 0,
		}),
		Cgroup: event.Cgroup{
			ID:   info.Hdr.CgroupId,
			Path: strs.Path(s.Bytes(info.Cgroup.Off, info.Cgroup.Len)),
		},
		Namespaces: event.Namespaces{PID: info.PidNs, Mnt: info.MntNs, Net: info.NetNs},
		Caps: sh.caps(capability.Sets{Effective: info.Caps[0], Permitted: info.Caps[1],
			Inheritable: info.Caps[2], Bounding: info.Caps[3]}),
		Truncated: truncated(flags),
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	if flags&processExecFlagEXEC_INTERPRETED != 0 {
		p.Script = absolute(p.Filename, p.Cwd)
	}
	return &event.Event{Time: d.At(info.Hdr.Ktime), Kind: event.KindProcessExec, Process: p}, nil
}

// Fork decodes a process_fork record: the child, known so far only by its
// parent and its start.
func (d Decoder) Fork(raw []byte) (*event.Event, error) {
	info, ok := wire.Fixed[processForkInfo](raw)
	if !ok {
		return nil, fmt.Errorf("%w: fork record of %d bytes", wire.ErrMalformed, len(raw))
	}
	ev := d.Event(wire.HeaderOf(raw), event.KindProcessFork)
	p := ev.Process
	p.PPID, p.Comm, p.StartTime = info.Ppid, d.Shared.strings().Bytes(wire.CBytes(info.Comm[:])), d.At(info.StartTime)
	return ev, nil
}

// Rename decodes a process_rename record: the process by its header, with
// the comm it took.
func (d Decoder) Rename(raw []byte) (*event.Event, error) {
	info, ok := wire.Fixed[processRenameInfo](raw)
	if !ok {
		return nil, fmt.Errorf("%w: rename record of %d bytes", wire.ErrMalformed, len(raw))
	}
	ev := d.Event(wire.HeaderOf(raw), event.KindProcessRename)
	ev.Process.Comm = d.Shared.strings().Bytes(wire.CBytes(info.Comm[:]))
	return ev, nil
}

// Signal decodes a process_signal record: the header's process sent a
// signal to the target.
func (d Decoder) Signal(raw []byte) (*event.Event, error) {
	info, ok := wire.Fixed[processSignalInfo](raw)
	if !ok {
		return nil, fmt.Errorf("%w: signal record of %d bytes", wire.ErrMalformed, len(raw))
	}
	s := wire.NewBlob(raw[int(unsafe.Sizeof(processSignalInfo{})):])
	flags := processSignalFlag(info.Flags)
	ev := d.Event(wire.HeaderOf(raw), event.KindProcessSignal)
	ev.Target = &event.Target{
		PID:        info.TargetPid,
		Binary:     wire.Path(s.Bytes(info.TargetBinary.Off, info.TargetBinary.Len)),
		Comm:       wire.CString(info.TargetComm[:]),
		Signal:     int(info.Sig),
		SignalName: signalName(int(info.Sig)),
		Agent:      flags&processSignalFlagSIGNAL_TO_AGENT != 0,
	}
	call := "kill"
	switch info.Code {
	case siTkill:
		call = "tgkill"
	case siQueue:
		call = "sigqueue"
	}
	ev.Syscall = &event.Syscall{Name: call, Args: []int64{int64(info.TargetPid), int64(info.Sig)}}
	// a cut target binary (SIGNAL_BINARY_CUT) is counted by the kernel
	// as a truncation of this kind
	return ev, s.Err()
}

// si_code values of a signal a process sent (include/uapi/asm-generic/siginfo.h).
const (
	siQueue = -1
	siTkill = -6
)

// Exit decodes a process_exit record.
func (d Decoder) Exit(raw []byte) (*event.Event, error) {
	info, ok := wire.Fixed[processExitInfo](raw)
	if !ok {
		return nil, fmt.Errorf("%w: exit record of %d bytes", wire.ErrMalformed, len(raw))
	}
	at := d.At(info.Hdr.Ktime)
	exit := waitStatus(info.Code)
	if lived := info.Hdr.Ktime - info.StartTime; info.Hdr.Ktime >= info.StartTime && lived <= math.MaxInt64 {
		exit.DurationNS = int64(lived)
	}
	// the header's process, cgroup id included: an exit whose fork and
	// exec were both lost is partial, but still says where it ran
	p := &event.Process{PID: info.Hdr.Pid, TID: info.Hdr.Tid, StartTime: d.At(info.StartTime),
		Cgroup: event.Cgroup{ID: info.Hdr.CgroupId}}
	return &event.Event{Time: at, Kind: event.KindProcessExit, Process: p, Exit: exit}, nil
}

// waitStatus splits a wait status as the kernel encodes it in exit_code.
func waitStatus(code uint32) *event.Exit {
	sig := int(code & 0x7f)
	if sig == 0 {
		return &event.Exit{Code: int(code>>8) & 0xff}
	}
	return &event.Exit{Signal: sig, SignalName: signalName(sig), CoreDumped: code&0x80 != 0}
}

func truncated(f processExecFlag) []string {
	var cut []string
	for _, c := range []struct {
		flag processExecFlag
		name string
	}{
		{processExecFlagEXEC_ARGS_CUT, "args"},
		{processExecFlagEXEC_ARGS_FAULT, "args"},
		{processExecFlagEXEC_BINARY_CUT, "binary"},
		{processExecFlagEXEC_FILENAME_CUT, "filename"},
		{processExecFlagEXEC_CWD_CUT, "cwd"},
		{processExecFlagEXEC_CGROUP_CUT, "cgroup"},
		{processExecFlagEXEC_ENV_CUT, "env"},
		{processExecFlagEXEC_ENV_UNSCANNED, "env"},
	} {
		if f&c.flag != 0 && (len(cut) == 0 || cut[len(cut)-1] != c.name) {
			cut = append(cut, c.name)
		}
	}
	return cut
}

// absolute makes an execve filename absolute against the process's cwd.
func absolute(filename, cwd string) string {
	if filename == "" || path.IsAbs(filename) {
		return filename
	}
	return path.Join(cwd, filename)
}
