package privilege

import (
	"github.com/vigil-sec/vigil/internal/sensor"
)

// Describe is the privilege sensor as the agent runs it. Calls this
// kernel was built without (modules, kexec) are watched only when opts
// ask for the dispatcher, whose price every system call pays
// (docs/benchmarks.md, "Privilege sensor"), or, for the module calls,
// where the kernel can load modules (kernel.ModuleWatch); otherwise they
// are logged as not watched. How module loads are watched is logged.
func Describe(opts Options) sensor.Description {
	return sensor.Description{Name: "privilege", Load: func(env sensor.Env) (sensor.Sensor, map[uint16]sensor.Decode, error) {
		s, err := Load(env.Ring, opts)
		if err != nil {
			return nil, nil, err
		}
		st := s.Status()
		env.Log.Info("module loads: "+st.ModuleWatch.Detail, "status", st.ModuleWatch.Status)
		if len(st.Dispatched) > 0 {
			env.Log.Info("privilege sensor: calls without tracepoints watched on every syscall", "calls", st.Dispatched)
		}
		switch {
		case len(st.Unwatched) == 0:
		case opts.MissingSyscalls: // asked for, and failed
			env.Log.Warn("privilege sensor: calls not watched", "calls", st.Unwatched, "reason", st.UnwatchedReason)
		default: // this kernel lacks them: every call fails with ENOSYS
			env.Log.Info("privilege sensor: calls this kernel lacks are not watched", "calls", st.Unwatched, "reason", st.UnwatchedReason)
		}
		if st.ModuleError != "" {
			env.Log.Warn("privilege sensor: loaded modules are not named", "err", st.ModuleError)
		}
		names, err := KernelBPFNames()
		if err != nil {
			env.Log.Warn("privilege sensor: bpf() types are named by number", "err", err)
		}
		decs, err := sensor.ByKind(Kinds(), NewDecoder(env.Clock, names).Decode)
		if err != nil {
			_ = s.Close() // the missing kind is the error
			return nil, nil, err
		}
		return s, decs, nil
	}}
}
