package execguard

import (
	"fmt"

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

// Decoder turns the guard's records into events and holds. It checks every
// length against the record, so a malformed record yields an error wrapping
// wire.ErrMalformed, never a panic. Its Clock dates the events.
type Decoder struct{ wire.Clock }

// Decode decodes a KIND_ENFORCE_EXEC record: a process_exec event carrying
// what the kernel knew (pid, filename, the executed file's identity) and the
// enforcement; the enforce stage names the policy, the enrich stage adds
// the rest of the process.
func (d Decoder) Decode(raw []byte) (*event.Event, error) {
	h, r, err := wire.FixedRecord[execguardExecEnforce](raw, WireEnforceExec)
	if err != nil {
		return nil, err
	}
	filename, err := recordString(r.Filename[:], r.FilenameLen)
	if err != nil {
		return nil, err
	}
	action, err := pinned.CheckHit(r.Hit.Policy, r.Hit.Action, pinned.ActionKilled, pinned.ActionWouldKill)
	if err != nil {
		return nil, err
	}
	flags := r.Flags
	ev := d.Event(h, event.KindProcessExec)
	p := ev.Process
	p.Filename, p.StartTime = filename, d.At(r.StartTime)
	p.Executable = &event.FileID{Dev: r.ExeDev, Inode: r.ExeIno}
	if flags&execguardExecgFlagEXECG_FILENAME_CUT != 0 {
		p.Truncated = []string{"filename"}
	}
	enf := &event.Enforcement{
		PolicyID:  int(r.Hit.Policy),
		Action:    pinned.EventAction(action),
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
	_, r, err := wire.FixedRecord[execguardExecHold](raw, WireExecHold)
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
	h.NotHeld = r.Flags&execguardExecgFlagEXECG_NOT_HELD != 0
	h.NotStopped = h.NotHeld || r.Flags&execguardExecgFlagEXECG_SIGNAL_FAILED != 0
	return h, nil
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
