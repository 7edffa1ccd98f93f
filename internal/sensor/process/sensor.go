// Package process is the process sensor: exec, exit and fork, from
// BTF-typed scheduler tracepoints (tp_btf), without kprobes or tracefs.
package process

import (
	"fmt"

	"github.com/vigil-sec/vigil/internal/bpfload"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor"
	"github.com/vigil-sec/vigil/internal/wire"
)

// Options tune the process sensor beyond the shared ring knobs.
type Options struct {
	// CgroupV1Subsys is the enum cgroup_subsys_id of the v1 controller
	// whose hierarchy names containers when their v2 cgroup is the root
	// (hybrid hosts); -1 on a pure cgroup v2 host.
	CgroupV1Subsys int
	// Env names the environment variables exec events carry; the zero
	// value reads none (DefaultEnv is what the agent watches).
	Env Env
}

// Sensor holds the loaded programs and their attachments.
type Sensor struct {
	*bpfload.Loaded
}

// Load loads the sensor's programs, sharing r's ring buffer, and attaches
// them. Nothing is reported before Load returns.
func Load(r *ring.Ring, opts Options) (*Sensor, error) {
	if err := opts.Env.Check(); err != nil {
		return nil, fmt.Errorf("process sensor env: %w", err)
	}
	spec, err := loadProcess()
	if err != nil {
		return nil, err
	}
	knobs := opts.Env.knobs()
	knobs[processVarCgroupV1Subsys] = int32(opts.CgroupV1Subsys)
	opts.Env.fill(spec)
	l, err := bpfload.Load(r, bpfload.Object{Name: "process sensor", Spec: spec, Knobs: knobs})
	if err != nil {
		return nil, err
	}
	return &Sensor{l}, nil
}

// Degraded is always "": the sensor runs whole or not at all.
func (s *Sensor) Degraded() string { return "" }

// Describe is the process sensor as the agent runs it: required, since
// every other stage leans on the process events.
func Describe(opts Options) sensor.Description {
	return sensor.Description{Name: "process", Required: true, Load: func(env sensor.Env) (sensor.Sensor, map[uint16]sensor.Decode, error) {
		s, err := Load(env.Ring, opts)
		if err != nil {
			return nil, nil, err
		}
		dec := NewDecoder(env.Clock)
		return s, map[uint16]sensor.Decode{
			wire.ProcessExec: dec.Exec, wire.ProcessExit: dec.Exit, wire.ProcessFork: dec.Fork,
			wire.ProcessRename: dec.Rename, wire.ProcessSignal: dec.Signal,
		}, nil
	}}
}
