package execguard

import (
	"fmt"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// Wire kinds of the guard's records.
const (
	WireEnforceExec = wire.EnforceExec
	WireExecHold    = wire.ExecHold
)

// Hooks the records come from, as event.Enforcement names them.
const (
	HookExec    = "sched_process_exec"
	HookScript  = "sched_prepare_exec"
	HookSigcont = "signal_generate"
)

var (
	enforceSize = int(unsafe.Sizeof(execguardExecEnforce{}))
	holdSize    = int(unsafe.Sizeof(execguardExecHold{}))
)

// Decoder turns the guard's records into events and holds. It checks every
// length against the record, so a malformed record yields an error wrapping
// wire.ErrMalformed, never a panic. Its Clock dates the events.
type Decoder struct{ wire.Clock }

// Decode decodes a KIND_ENFORCE_EXEC record: a process_exec event carrying
// what the kernel knew (pid, filename, the executed file's identity) and the
// enforcement; the enforce stage names the policy, the enrich stage adds
// the rest of the process.
func (d Decoder) Decode(raw []byte) (*event.Event, error) {
	r, err := fixedRecord[execguardExecEnforce](raw, WireEnforceExec, enforceSize)
	if err != nil {
		return nil, err
	}
	filename, err := recordString(r.Filename[:], r.FilenameLen)
	if err != nil {
		return nil, err
	}
	action, err := killAction(r.Hit.Policy, r.Hit.Action)
	if err != nil {
		return nil, err
	}
	flags := r.Flags
	ev := d.Event(wire.HeaderOf(raw), event.KindProcessExec)
	p := ev.Process
	p.Filename, p.StartTime = filename, d.At(r.StartTime)
	p.Executable = &event.FileID{Dev: r.ExeDev, Inode: r.ExeIno}
	if flags&execguardExecgFlagEXECG_FILENAME_CUT != 0 {
		p.Truncated = []string{"filename"}
	}
	enf := &event.Enforcement{
		PolicyID:  int(r.Hit.Policy),
		Action:    action,
		Mechanism: event.MechanismKernel,
		Hook:      HookExec,
		Match:     event.EnforceMatch{Dev: uint64(r.Dev), Ino: r.Ino},
	}
	ev.Enforcement = enf
	switch {
	case flags&execguardExecgFlagEXECG_CONTINUED != 0:
		enf.Hook = HookSigcont
		enf.Error = "held for hashing, continued by another process before it was verified"
	case flags&execguardExecgFlagEXECG_SCRIPT != 0:
		// the executed file is the interpreter; the matched one the script
		enf.Hook = HookScript
		p.Script = filename
		ev.File = &event.File{Path: filename, Inode: r.Ino, Dev: r.Dev, PathSource: "argument"}
	}
	if flags&execguardExecgFlagEXECG_SIGNAL_FAILED != 0 {
		enf.Error = "bpf_send_signal failed: the process was not killed by the kernel"
	}
	return ev, nil
}

// DecodeHold decodes a KIND_EXEC_HOLD record.
func DecodeHold(raw []byte) (Hold, error) {
	r, err := fixedRecord[execguardExecHold](raw, WireExecHold, holdSize)
	if err != nil {
		return Hold{}, err
	}
	filename, err := recordString(r.Filename[:], r.FilenameLen)
	if err != nil {
		return Hold{}, err
	}
	if r.Held.Policies == 0 || r.Held.Key.Pad != 0 {
		return Hold{}, fmt.Errorf("%w: hold without policies or with a padded key", wire.ErrMalformed)
	}
	h := holdOf(r.Hdr.Pid, r.Held)
	h.TID = r.Hdr.Tid
	h.CgroupID = r.Hdr.CgroupId
	h.Filename = filename
	h.Truncated = r.Flags&execguardExecgFlagEXECG_FILENAME_CUT != 0
	h.NotStopped = r.Flags&execguardExecgFlagEXECG_SIGNAL_FAILED != 0
	return h, nil
}

// fixedRecord checks a record's header (kind, and a size that is the
// record's) and copies out its fixed layout.
func fixedRecord[T any](raw []byte, kind uint16, size int) (T, error) {
	var zero T
	h, err := wire.ParseHeader(raw)
	if err != nil {
		return zero, err
	}
	if h.Kind != kind {
		return zero, fmt.Errorf("%w: kind %d, want %d", wire.ErrMalformed, h.Kind, kind)
	}
	if len(raw) != size {
		return zero, fmt.Errorf("%w: kind %d record of %d bytes, want %d", wire.ErrMalformed, kind, len(raw), size)
	}
	v, _ := wire.Fixed[T](raw)
	return v, nil
}

// recordString reads a NUL-terminated string of n bytes from a fixed array.
func recordString(b []int8, n uint32) (string, error) {
	if int(n) >= len(b) || b[n] != 0 {
		return "", fmt.Errorf("%w: filename of %d bytes in a %d-byte field", wire.ErrMalformed, n, len(b))
	}
	out := make([]byte, n)
	for i := range out {
		out[i] = byte(b[i])
	}
	return string(out), nil
}

func killAction(policy uint32, action uint16) (event.Action, error) {
	if policy >= pinned.MaxPolicies {
		return "", fmt.Errorf("%w: policy %d", wire.ErrMalformed, policy)
	}
	switch pinned.Action(action) {
	case pinned.ActionKilled:
		return event.ActionKilled, nil
	case pinned.ActionWouldKill:
		return event.ActionWouldKill, nil
	}
	return "", fmt.Errorf("%w: action %d at exec", wire.ErrMalformed, action)
}
