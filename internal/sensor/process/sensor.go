// Package process is the process sensor: exec, exit and fork, from
// BTF-typed scheduler tracepoints (tp_btf), without kprobes or tracefs.
package process

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-sec/vigil/internal/ring"
)

// Options tune the process sensor beyond the shared ring knobs.
type Options struct {
	// CgroupV1Subsys is the enum cgroup_subsys_id of the v1 controller
	// whose hierarchy names containers when their v2 cgroup is the root
	// (hybrid hosts); -1 on a pure cgroup v2 host.
	CgroupV1Subsys int
}

// Sensor holds the loaded programs and their attachments.
type Sensor struct {
	objs  processObjects
	links []link.Link
}

// Load loads the sensor's programs, sharing r's ring buffer, and attaches
// them. Nothing is reported before Load returns.
func Load(r *ring.Ring, opts Options) (*Sensor, error) {
	spec, err := loadProcess()
	if err != nil {
		return nil, err
	}
	if err := spec.Variables[processVarCgroupV1Subsys].Set(int32(opts.CgroupV1Subsys)); err != nil {
		return nil, fmt.Errorf("set %s: %w", processVarCgroupV1Subsys, err)
	}
	copts, err := r.CollectionOptions(spec)
	if err != nil {
		return nil, err
	}
	s := &Sensor{}
	if err := spec.LoadAndAssign(&s.objs, copts); err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return nil, fmt.Errorf("load process sensor: %+v", verr)
		}
		return nil, fmt.Errorf("load process sensor: %w", err)
	}
	for _, prog := range []*ebpf.Program{s.objs.HandleFork, s.objs.HandleExec, s.objs.HandleExit} {
		l, err := link.AttachTracing(link.TracingOptions{Program: prog})
		if err != nil {
			_ = s.Close() // best effort: err is what failed
			return nil, fmt.Errorf("attach %s: %w", prog, err)
		}
		s.links = append(s.links, l)
	}
	return s, nil
}

// Close detaches the programs and releases them.
func (s *Sensor) Close() error {
	var errs []error
	for _, l := range s.links {
		errs = append(errs, l.Close())
	}
	s.links = nil
	errs = append(errs, s.objs.Close())
	return errors.Join(errs...)
}

// Programs names the sensor's BPF programs, for their run-time statistics
// (run count and run time, with kernel.bpf_stats_enabled on).
func (s *Sensor) Programs() map[string]*ebpf.Program {
	return map[string]*ebpf.Program{
		processProgHandleExec: s.objs.HandleExec,
		processProgHandleExit: s.objs.HandleExit,
		processProgHandleFork: s.objs.HandleFork,
	}
}
