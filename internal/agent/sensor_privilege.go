package agent

import (
	"fmt"
	"io"

	"github.com/vigil-sec/vigil/internal/sensor/privilege"
	"github.com/vigil-sec/vigil/internal/wire"
)

// loadPrivilegeSensor loads the privilege and kernel-integrity sensor.
// Calls this kernel was built without (modules, kexec) are watched only
// when Config.Privilege asks for the dispatcher, whose price every system
// call pays (docs/benchmarks.md, "Privilege sensor"); otherwise they are
// logged as not watched.
func loadPrivilegeSensor(a *Agent, _ hostCgroups) (io.Closer, error) {
	s, err := privilege.Load(a.ring, a.cfg.Privilege)
	if err != nil {
		return nil, err
	}
	st := s.Status()
	if len(st.Dispatched) > 0 {
		a.log.Info("privilege sensor: calls without tracepoints watched on every syscall", "calls", st.Dispatched)
	}
	switch {
	case len(st.Unwatched) == 0:
	case a.cfg.Privilege.MissingSyscalls: // asked for, and failed
		a.log.Warn("privilege sensor: calls not watched", "calls", st.Unwatched, "reason", st.UnwatchedReason)
	default: // this kernel lacks them: every call fails with ENOSYS
		a.log.Info("privilege sensor: calls this kernel lacks are not watched", "calls", st.Unwatched, "reason", st.UnwatchedReason)
	}
	if st.ModuleError != "" {
		a.log.Warn("privilege sensor: loaded modules are not named", "err", st.ModuleError)
	}
	names, err := privilege.KernelBPFNames()
	if err != nil {
		a.log.Warn("privilege sensor: bpf() types are named by number", "err", err)
	}
	dec := privilege.NewDecoder(a.clock.Time, names)
	for _, kind := range privilege.Kinds() {
		w, ok := wire.Kind(kind)
		if !ok {
			_ = s.Close() // the missing kind is the error
			return nil, fmt.Errorf("event kind %s has no wire number", kind)
		}
		a.decoders.set(w, dec.Decode)
	}
	return s, nil
}
