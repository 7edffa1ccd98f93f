// Package privilege is the privilege and kernel-integrity sensor: changes
// of ids and capabilities, ptrace and process_vm_writev, namespaces,
// mounts, chroot and pivot_root, kernel modules, bpf() loads and
// attaches, kexec, userfaultfd and personality, each reported at the
// call's exit with its outcome.
//
// Every watched call has its own pair of classic tracepoints, so calls
// nobody watches cost only the kernel's per-syscall tracepoint check. A
// call this kernel has no tracepoint for (it was built without it, and
// the call fails with ENOSYS) can be watched by a dispatcher on the raw
// sys_enter/sys_exit tracepoints, which every system call pays for; see
// Options.MissingSyscalls.
package privilege

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-sec/vigil/internal/bpfload"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
)

// DefaultInFlight is how many threads may be inside watched calls at once
// unless Options say otherwise.
const DefaultInFlight = 4096

// Options tune the sensor.
type Options struct {
	// MissingSyscalls watches the calls this kernel has no tracepoint for
	// (init_module, finit_module, delete_module, kexec_load and
	// kexec_file_load on a kernel built without modules or kexec) through
	// a program on the entry and exit of every system call, x86-64 only.
	// Every call then fails with ENOSYS, but the attempt is worth
	// reporting; the price is docs/benchmarks.md's "dispatcher" row.
	MissingSyscalls bool
	// InFlight bounds the threads inside watched calls at once; 0 means
	// DefaultInFlight. A call that finds the table full is counted as a
	// map_full loss of its kind.
	InFlight int
}

// Status says how each watched call is watched.
type Status struct {
	// Tracepoints are the calls watched through their own tracepoints.
	Tracepoints []string
	// Dispatched are the calls watched by the dispatcher.
	Dispatched []string
	// Unwatched are the calls this kernel has no tracepoint for that the
	// dispatcher does not watch; UnwatchedReason says why.
	Unwatched       []string
	UnwatchedReason string
	// ModuleNames is set when module/module_load names the modules that
	// init_module and finit_module load; ModuleError says why not when
	// the kernel has that tracepoint.
	ModuleNames bool
	ModuleError string
	// ModuleWatch says how module loads are watched, or why not.
	ModuleWatch kernel.Capability
}

// coreObjects are the maps and the per-syscall programs.
type coreObjects struct {
	privilegeMaps
	OnEnter *ebpf.Program `ebpf:"on_enter"`
	OnExit  *ebpf.Program `ebpf:"on_exit"`
}

// dispatchObjects and moduleObjects are loaded apart, so that their
// failure leaves the rest running.
type dispatchObjects struct {
	Enter *ebpf.Program `ebpf:"dispatch_enter"`
	Exit  *ebpf.Program `ebpf:"dispatch_exit"`
}

type moduleObjects struct {
	Load *ebpf.Program `ebpf:"on_module_load"`
}

// Sensor holds the loaded programs and their attachments.
type Sensor struct {
	core     coreObjects
	dispatch dispatchObjects
	module   moduleObjects
	links    []link.Link
	status   Status
	// wantMissing: Options.MissingSyscalls
	wantMissing bool
}

// Load loads the sensor's programs, sharing r's ring buffer, and attaches
// them. Nothing is reported before Load returns.
func Load(r *ring.Ring, opts Options) (*Sensor, error) {
	if opts.InFlight < 0 {
		return nil, fmt.Errorf("privilege.in_flight: %d; want a positive count, or 0 for %d", opts.InFlight, DefaultInFlight)
	}
	if opts.InFlight == 0 {
		opts.InFlight = DefaultInFlight
	}
	spec, err := kernel.LoadSpec(loadPrivilege)
	if err != nil {
		return nil, err
	}
	spec.Maps[privilegeMapInflight].MaxEntries = uint32(opts.InFlight)
	copts, err := bpfload.Prepare(r, spec, nil)
	if err != nil {
		return nil, err
	}
	s := &Sensor{wantMissing: opts.MissingSyscalls}
	if err := bpfload.Assign("load privilege sensor", spec, copts, &s.core); err != nil {
		return nil, err
	}
	missing, err := s.attachCalls()
	if err != nil {
		_ = s.Close() // best effort: err is what failed
		return nil, err
	}
	// what follows is optional: a failure is reported, not fatal
	copts.MapReplacements[privilegeMapInflight] = s.core.Inflight
	copts.MapReplacements[privilegeMapNrCalls] = s.core.NrCalls
	copts.MapReplacements[privilegeMapScratch] = s.core.Scratch
	copts.MapReplacements[privilegeMapBlobs] = s.core.Blobs
	copts.MapReplacements[privilegeMapEntryPaths] = s.core.EntryPaths
	s.watchMissing(spec, copts, missing, opts.MissingSyscalls)
	s.nameModules(spec, copts)
	return s, nil
}

// attachCalls maps this architecture's syscall numbers to the calls and
// attaches the entry and exit programs to each call's tracepoints. It
// returns the calls the kernel has no tracepoints for.
func (s *Sensor) attachCalls() ([]callSpec, error) {
	var missing []callSpec
	for _, c := range calls() {
		nc := privilegeNrCall{Call: uint8(c.call), Nargs: uint8(len(c.args))}
		if err := s.core.NrCalls.Update(uint32(c.nr), nc, ebpf.UpdateAny); err != nil {
			return nil, fmt.Errorf("map %s (syscall %d): %w", c.name, c.nr, err)
		}
		if !syscallTracepoint(c.tracepoint) {
			missing = append(missing, c)
			continue
		}
		for _, a := range []struct {
			event string
			prog  *ebpf.Program
		}{{"sys_enter_" + c.tracepoint, s.core.OnEnter}, {"sys_exit_" + c.tracepoint, s.core.OnExit}} {
			l, err := link.Tracepoint("syscalls", a.event, a.prog, nil)
			if err != nil {
				return nil, fmt.Errorf("attach syscalls/%s: %w", a.event, err)
			}
			s.links = append(s.links, l)
		}
		s.status.Tracepoints = append(s.status.Tracepoints, c.name)
	}
	return missing, nil
}

func syscallTracepoint(name string) bool {
	_, err := os.Stat(filepath.Join(kernel.TraceFSPath, "events", "syscalls", "sys_enter_"+name))
	return err == nil
}

// watchMissing has the dispatcher watch the calls without tracepoints:
// all of them when asked (want), else the module calls where the kernel
// can load modules (kernel.ModuleWatch decides, and says how).
func (s *Sensor) watchMissing(spec *ebpf.CollectionSpec, copts *ebpf.CollectionOptions, missing []callSpec, want bool) {
	facts := kernel.ModuleFactsHere(want)
	facts.Tracepoints = !slices.ContainsFunc(missing, isModuleLoad)
	mode, c := kernel.ModuleWatch(facts)
	s.status.ModuleWatch = c
	dispatch, off := toDispatch(missing, want, mode)
	for _, c := range off {
		s.status.Unwatched = append(s.status.Unwatched, c.name)
		s.status.UnwatchedReason = "the dispatcher is off (privilege.Options.MissingSyscalls)"
	}
	missing = dispatch
	unwatched := func(reason string) {
		for _, c := range missing {
			s.status.Unwatched = append(s.status.Unwatched, c.name)
		}
		s.status.UnwatchedReason = reason
		if mode == kernel.ModuleWatchDispatcher {
			s.status.ModuleWatch.Status = kernel.StatusUnavailable
			s.status.ModuleWatch.Detail = "the sys_enter dispatcher failed: " + reason
		}
	}
	switch {
	case len(missing) == 0:
		return
	case runtime.GOARCH != "amd64":
		unwatched("the dispatcher reads x86-64 registers; this is " + runtime.GOARCH)
		return
	}
	if err := spec.LoadAndAssign(&s.dispatch, copts); err != nil {
		unwatched(fmt.Sprintf("load dispatcher: %v", bpfload.Verbose(err)))
		return
	}
	for _, c := range missing {
		nc := privilegeNrCall{Call: uint8(c.call), Nargs: uint8(len(c.args)), Dispatched: 1}
		if err := s.core.NrCalls.Update(uint32(c.nr), nc, ebpf.UpdateAny); err != nil {
			unwatched(fmt.Sprintf("map %s: %v", c.name, err))
			return
		}
	}
	for _, prog := range []*ebpf.Program{s.dispatch.Enter, s.dispatch.Exit} {
		l, err := link.AttachTracing(link.TracingOptions{Program: prog})
		if err != nil {
			unwatched(fmt.Sprintf("attach %s: %v", prog, err))
			return
		}
		s.links = append(s.links, l)
	}
	for _, c := range missing {
		s.status.Dispatched = append(s.status.Dispatched, c.name)
	}
}

// toDispatch splits the calls without tracepoints into those the
// dispatcher watches (all when asked; else the module calls when the
// module watch mode is the dispatcher) and the rest.
func toDispatch(missing []callSpec, want bool, mode string) (dispatch, off []callSpec) {
	for _, c := range missing {
		if want || (mode == kernel.ModuleWatchDispatcher && isModuleCall(c)) {
			dispatch = append(dispatch, c)
		} else {
			off = append(off, c)
		}
	}
	return dispatch, off
}

func isModuleLoad(c callSpec) bool {
	return c.call == privilegePrivCallCALL_INIT_MODULE || c.call == privilegePrivCallCALL_FINIT_MODULE
}

func isModuleCall(c callSpec) bool {
	return isModuleLoad(c) || c.call == privilegePrivCallCALL_DELETE_MODULE
}

// nameModules attaches module/module_load, which a kernel without module
// support does not have.
func (s *Sensor) nameModules(spec *ebpf.CollectionSpec, copts *ebpf.CollectionOptions) {
	if _, err := os.Stat(filepath.Join(kernel.TraceFSPath, "events", "module", "module_load")); err != nil {
		return
	}
	if err := spec.LoadAndAssign(&s.module, copts); err != nil {
		s.status.ModuleError = fmt.Sprintf("load: %v", bpfload.Verbose(err))
		return
	}
	l, err := link.Tracepoint("module", "module_load", s.module.Load, nil)
	if err != nil {
		s.status.ModuleError = fmt.Sprintf("attach: %v", err)
		return
	}
	s.links = append(s.links, l)
	s.status.ModuleNames = true
}

// Status says how each watched call is watched.
func (s *Sensor) Status() Status { return s.status }

// Programs are the loaded programs by name, for their run statistics.
func (s *Sensor) Programs() map[string]*ebpf.Program {
	progs := map[string]*ebpf.Program{
		privilegeProgOnEnter: s.core.OnEnter, privilegeProgOnExit: s.core.OnExit,
		privilegeProgDispatchEnter: s.dispatch.Enter, privilegeProgDispatchExit: s.dispatch.Exit,
		privilegeProgOnModuleLoad: s.module.Load,
	}
	for name, p := range progs {
		if p == nil {
			delete(progs, name)
		}
	}
	return progs
}

// Degraded says what the sensor was asked to watch and cannot, or "".
// Calls this kernel lacks, left to the dispatcher that was not asked
// for, are not a degradation: they can only fail.
func (s *Sensor) Degraded() string {
	var why []string
	if s.wantMissing && len(s.status.Unwatched) > 0 {
		why = append(why, fmt.Sprintf("%v not watched: %s", s.status.Unwatched, s.status.UnwatchedReason))
	}
	if s.status.ModuleError != "" {
		why = append(why, "module names: "+s.status.ModuleError)
	}
	return strings.Join(why, "; ")
}

// Close detaches the programs and releases them.
func (s *Sensor) Close() error {
	errs := bpfload.CloseLinks(s.links)
	s.links = nil
	for _, p := range []*ebpf.Program{s.dispatch.Enter, s.dispatch.Exit, s.module.Load, s.core.OnEnter, s.core.OnExit} {
		if p != nil {
			errs = append(errs, p.Close())
		}
	}
	errs = append(errs, s.core.privilegeMaps.Close())
	return errors.Join(errs...)
}
