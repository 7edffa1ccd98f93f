package privilege

import (
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// The decoders of each kind's fixed part and strings; Decode has filled
// the envelope and the syscall.

// decodeCreds: ids before and after; capabilities for capset, and for
// any call that changed them (a setuid away from root drops them all).
func decodeCreds(ev *event.Event, raw []byte) error {
	r, _, err := fixed[privilegeCredInfo](raw)
	if err != nil {
		return err
	}
	p := &event.Privilege{Before: creds(r.Before), After: creds(r.After)}
	if r.Call.Call == privilegePrivCallCALL_CAPSET || r.CapsBefore != r.CapsAfter {
		p.CapsBefore, p.CapsAfter = caps(r.CapsBefore), caps(r.CapsAfter)
	}
	ev.Privilege = p
	return nil
}

// decodeTarget: the other process, as the kernel found it; when it did
// not (no such process), the pid as the caller gave it.
func decodeTarget(ev *event.Event, raw []byte) error {
	r, b, err := fixed[privilegeTargetInfo](raw)
	if err != nil {
		return err
	}
	t := &event.Target{PID: r.Pid, Binary: b.pathRef(r.Binary)}
	pidArg := r.Call.Args[0] // process_vm_writev(pid, …)
	if r.Call.Call == privilegePrivCallCALL_PTRACE {
		pidArg = r.Call.Args[1] // ptrace(request, pid, …)
		t.Request = ptraceRequest(int64(r.Call.Args[0]))
	}
	if r.Call.Flags&privilegePrivFlagPRIV_TARGET_FOUND == 0 {
		t.PID = uint32(pidArg)
	}
	ev.Target = t
	return b.Err()
}

func decodeNamespace(ev *event.Event, raw []byte) error {
	r, _, err := fixed[privilegeNsInfo](raw)
	if err != nil {
		return err
	}
	ev.Namespace = &event.Namespace{Types: nsTypeList(r.Types), Flags: r.Flags}
	return nil
}

// decodeMount: mount, move_mount, umount and pivot_root as a Mount,
// chroot as the File that becomes the root. Relative paths are made
// absolute against the directory the kernel resolved them from.
func decodeMount(ev *event.Event, raw []byte) error {
	r, b, err := fixed[privilegeMountInfo](raw)
	if err != nil {
		return err
	}
	base := b.pathRef(r.Base)
	source, target := b.ref(r.Source), resolve(base, b.ref(r.Target))
	m := &event.Mount{Source: source, Target: target, FSType: b.ref(r.Fstype)}
	args := r.Call.Args
	switch r.Call.Call {
	case privilegePrivCallCALL_MOUNT:
		m.Flags = mountFlagList(args[3])
		if args[3]&(mountBind|mountMove) != 0 {
			m.Source = resolve(base, source)
		}
	case privilegePrivCallCALL_MOVE_MOUNT:
		m.Flags = flagList(args[4], moveMountFlags())
	case privilegePrivCallCALL_UMOUNT:
		m.Flags = flagList(args[1], umountFlags())
	case privilegePrivCallCALL_PIVOT_ROOT:
		m.Source = resolve(base, source)
	case privilegePrivCallCALL_CHROOT:
		path := b.pathRef(r.Resolved)
		if path == "" { // failed: what was asked for
			path = target
		}
		ev.File = &event.File{Path: path}
		return b.Err()
	}
	ev.Mount = m
	return b.Err()
}

func decodeModule(ev *event.Event, raw []byte) error {
	r, b, err := fixed[privilegeModuleInfo](raw)
	if err != nil {
		return err
	}
	ev.Module = &event.Module{Name: wire.CString(r.Name[:]), Path: b.pathRef(r.Path)}
	return b.Err()
}

func (d *Decoder) decodeBPF(ev *event.Event, raw []byte) error {
	r, b, err := fixed[privilegeBpfInfo](raw)
	if err != nil {
		return err
	}
	load := r.Cmd == bpfProgLoad
	found := r.Call.Flags&privilegePrivFlagPRIV_PROG_FOUND != 0
	bp := &event.BPF{
		Command:  d.bpf.cmd(r.Cmd),
		ProgName: wire.CString(r.ProgName[:]),
		Insns:    r.Insns,
		Target:   b.ref(r.Target),
	}
	if load || found {
		bp.ProgType = d.bpf.progType(r.ProgType)
	}
	// a load's expected attach type is 0 when the type has none, and 0
	// is also BPF_CGROUP_INET_INGRESS: only a non-zero one says anything
	if !load || r.AttachType != 0 {
		bp.AttachType = d.bpf.attachType(r.AttachType)
	}
	ev.BPF = bp
	return b.Err()
}
