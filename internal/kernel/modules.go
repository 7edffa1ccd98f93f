package kernel

import (
	"os"
	"path/filepath"
	"runtime"
)

// CapabilityModuleDetection names how module loads are watched (vigil
// probe, the agent's start-up log).
const CapabilityModuleDetection = "module load detection"

// Module load watch modes, as ModuleWatch decides them.
const (
	ModuleWatchTracepoints = "tracepoints"
	ModuleWatchDispatcher  = "dispatcher"
	ModuleWatchOff         = "off"
)

// ModuleFacts are what decides how module loads are watched.
type ModuleFacts struct {
	// Tracepoints: the kernel has syscalls/sys_{enter,exit}_{init,finit}_module.
	Tracepoints bool
	// CanLoad: the kernel was built with module support (/proc/modules).
	CanLoad bool
	// DispatchMissing: asked to watch calls without tracepoints anyway
	// (vigil run --watch-missing-syscalls).
	DispatchMissing bool
	// GOARCH is the architecture; the dispatcher reads x86-64 registers.
	GOARCH string
}

// ModuleFactsHere reads the facts on this machine; tracefs must be mounted
// for the tracepoints to be seen.
func ModuleFactsHere(dispatchMissing bool) ModuleFacts {
	_, tpErr := os.Stat(filepath.Join(TraceFSPath, "events", "syscalls", "sys_enter_finit_module"))
	_, modErr := os.Stat("/proc/modules")
	return ModuleFacts{Tracepoints: tpErr == nil, CanLoad: modErr == nil, DispatchMissing: dispatchMissing, GOARCH: runtime.GOARCH}
}

// ModuleWatch decides how the privilege sensor watches module loads, and
// says so. The default a security team wants: every load that can succeed
// is seen. Where the kernel can load modules, the calls' own tracepoints
// watch them at no cost to other calls, or, where it has none, the
// sys_enter dispatcher, on by default, at ~80 ns on every system call.
// Where it cannot load modules every attempt fails with ENOSYS: watching
// the attempts costs the same ~80 ns everywhere, so it takes
// DispatchMissing (--watch-missing-syscalls).
func ModuleWatch(f ModuleFacts) (mode string, c Capability) {
	const name = CapabilityModuleDetection
	switch {
	case f.Tracepoints:
		return ModuleWatchTracepoints, full(name, "init_module and finit_module through their own syscall tracepoints, "+
			"which other calls do not pay for; module/module_load names the module")
	case f.GOARCH != "amd64" && (f.CanLoad || f.DispatchMissing):
		return ModuleWatchOff, unavailable(name, "no syscall tracepoints for init_module/finit_module, and the sys_enter "+
			"dispatcher reads x86-64 registers; this is "+f.GOARCH)
	case f.CanLoad:
		return ModuleWatchDispatcher, degraded(name, "no syscall tracepoints for init_module/finit_module on a kernel that can "+
			"load modules: the sys_enter dispatcher watches them (on by default), ~80 ns on every system call")
	case f.DispatchMissing:
		return ModuleWatchDispatcher, full(name, "this kernel cannot load modules (no /proc/modules); attempts, which fail with "+
			"ENOSYS, are watched by the sys_enter dispatcher (--watch-missing-syscalls), ~80 ns on every system call")
	}
	return ModuleWatchOff, full(name, "this kernel cannot load modules (no /proc/modules): no load can succeed, so none is "+
		"missed; --watch-missing-syscalls also reports the attempts, which fail with ENOSYS, at ~80 ns on every system call")
}
