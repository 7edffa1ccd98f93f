package enforce

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/execguard"
	"github.com/vigil-sec/vigil/internal/enforce/fileguard"
	"github.com/vigil-sec/vigil/internal/enforce/modguard"
	"github.com/vigil-sec/vigil/internal/enforce/netguard"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/enforce/podscope"
	"github.com/vigil-sec/vigil/internal/enforce/xdpguard"
	"github.com/vigil-sec/vigil/internal/kernel"
)

// Mechanism names, as status and errors call them.
const (
	MechExec    = "exec"
	MechFile    = "files"
	MechNet     = "network"
	MechPackets = "packets"
	MechModules = "modules"
	MechLSM     = "lsm"
	MechPods    = "pods"
)

// MechanismStatus says how one mechanism runs here.
type MechanismStatus struct {
	Name string
	// Mode is "kernel", "off" (no policy needs it yet) or "unavailable".
	Mode  string
	Hook  string
	Error string
}

// pinnedBy reports whether links of a lazily loaded mechanism are pinned.
func pinnedBy(dir, mech string) bool {
	names, err := pinned.Links(dir)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(names, func(n string) bool { return linkOwner(n) == mech })
}

// linkOwner names the mechanism a pinned link belongs to.
func linkOwner(name string) string {
	switch {
	case slices.Contains(execguard.LinkNames(), name):
		return MechExec
	case slices.Contains(netguard.LinkNames(), name):
		return MechNet
	case strings.HasPrefix(name, fileguard.LinkName("")):
		return MechFile
	case strings.HasPrefix(name, "xdp") || strings.HasPrefix(name, "tcx"):
		return MechPackets
	case strings.HasPrefix(name, "modguard"):
		return MechModules
	case name == podscope.LinkName:
		return MechPods
	}
	return ""
}

// need loads a lazily loaded mechanism. Called with e.mu held, or from New.
func (e *Enforcer) need(mech string) error {
	if why, ok := e.mechErr[mech]; ok {
		return fmt.Errorf("%s enforcement is unavailable here: %s", mech, why)
	}
	var err error
	switch mech {
	case MechExec:
		if e.exec == nil {
			err = fmt.Errorf("exec blocking is not loaded")
		}
	case MechNet:
		if e.net == nil {
			err = fmt.Errorf("network deny is not loaded")
		}
	case MechFile:
		if e.file == nil {
			e.file, err = fileguard.Load(fileguard.Options{PinDir: e.cfg.PinDir, Ring: e.cfg.Ring})
		}
	case MechModules:
		if e.mod == nil {
			// syscall tracepoints never see 32-bit calls: where the kernel
			// delivers them, only the dispatcher closes that bypass
			e.mod, err = modguard.Load(modguard.Options{PinDir: e.cfg.PinDir, Ring: e.cfg.Ring,
				Dispatcher: compatSyscalls()})
		}
	case MechPackets:
		if e.xdp == nil {
			// links a previous agent pinned keep dropping with the same
			// tables; Attach updates them in place when a policy names
			// their interface again
			e.xdp, err = xdpguard.Load(xdpguard.Options{PinDir: e.cfg.PinDir, MaxPrefixes: e.packetRoom()})
		}
	case MechPods:
		if e.pscope == nil {
			e.pscope, err = podscope.Load(podscope.Options{PinDir: e.cfg.PinDir, Ring: e.cfg.Ring})
			if err == nil {
				// what a previous agent wrote: kept for its adopted
				// policies until SyncPods (pods.go)
				var perr error
				e.podBits, perr = e.pscope.Pods()
				var cerr error
				e.ctrBits, cerr = e.pscope.Containers()
				if err := errors.Join(perr, cerr); err != nil {
					e.log.Warn("read the pinned pod scopes", "err", err)
				}
			}
		}
	}
	if err != nil {
		e.mechErr[mech] = err.Error()
		e.log.Error("enforcement mechanism unavailable", "mechanism", mech, "err", err)
		return fmt.Errorf("%s enforcement is unavailable here: %w", mech, err)
	}
	return nil
}

// release unloads a lazily loaded mechanism no policy needs any more and
// unpins its links: a file guard costs every open, the module guard's
// dispatcher every system call. Called with e.mu held. The LSM tier reads
// their tables, so with it they stay.
func (e *Enforcer) release(mech string) {
	if e.lsm != nil && mech != MechPods {
		return
	}
	var c interface{ Close() error }
	switch {
	case mech == MechPods && e.pscope != nil:
		c, e.pscope = e.pscope, nil
	case mech == MechFile && e.file != nil:
		c, e.file = e.file, nil
	case mech == MechModules && e.mod != nil:
		c, e.mod = e.mod, nil
	default:
		return
	}
	names, err := pinned.Links(e.cfg.PinDir)
	for _, n := range names {
		if linkOwner(n) == mech {
			err = errors.Join(err, pinned.UnpinLink(e.cfg.PinDir, n))
		}
	}
	if err = errors.Join(err, c.Close()); err != nil {
		e.log.Warn("unload an enforcement mechanism no policy needs", "mechanism", mech, "err", err)
	}
}

// Mechanisms says how each mechanism runs.
func (e *Enforcer) Mechanisms() []MechanismStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []MechanismStatus
	add := func(name string, loaded bool, hook string) {
		s := MechanismStatus{Name: name, Mode: "off", Hook: hook}
		switch why, bad := e.mechErr[name]; {
		case bad && !loaded:
			s.Mode, s.Error = "unavailable", why
		case loaded:
			s.Mode = "kernel"
		}
		out = append(out, s)
	}
	add(MechExec, e.exec != nil, "tp_btf/sched_process_exec (SIGKILL before the first instruction)")
	add(MechNet, e.net != nil, "cgroup connect4/6, sendmsg4/6, bind4/6 (EPERM)")
	fileHook := "syscalls/sys_exit_open* (SIGKILL after the open)"
	if e.file != nil {
		fileHook = "SIGKILL after " + strings.Join(e.file.Hooks(), ", ")
		if missing := e.file.Missing(); len(missing) > 0 {
			fileHook += "; not seen on this kernel (no tracepoint): " + strings.Join(missing, ", ")
		}
	}
	add(MechFile, e.file != nil, fileHook)
	modHook := "init_module/finit_module (SIGKILL when the call returns)"
	if e.mod != nil {
		modHook = e.mod.Mode() + " (SIGKILL when the call returns)"
	}
	add(MechModules, e.mod != nil, modHook)
	pktHook := "XDP, tcx as fallback (drop)"
	if e.xdp != nil {
		if atts, err := e.xdp.Attachments(); err == nil && len(atts) > 0 {
			var parts []string
			for _, a := range atts {
				name := fmt.Sprintf("ifindex %d", a.Ifindex)
				if ifc, err := net.InterfaceByIndex(a.Ifindex); err == nil {
					name = ifc.Name
				}
				parts = append(parts, name+": "+string(a.Mode))
			}
			slices.Sort(parts)
			pktHook = strings.Join(parts, ", ")
		}
	}
	add(MechPackets, e.xdp != nil, pktHook)
	lsmHook := "lsm/bprm_check_security, file_open, kernel_read_file, kernel_load_data (EPERM)"
	if !e.cfg.LSM {
		lsmHook += ": --lsm loads it where the kernel runs BPF LSM"
	}
	add(MechLSM, e.lsm != nil, lsmHook)
	add(MechPods, e.pscope != nil, "tp_btf/cgroup_mkdir (a new pod's cgroup scoped as the kubelet creates it)")
	return out
}

// compatSyscalls reports whether this kernel runs 32-bit system calls,
// asked once per module-guard load (a throwaway child makes one call).
func compatSyscalls() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return kernel.CompatSyscalls(ctx) == nil
}
