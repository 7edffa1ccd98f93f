package enforce

import (
	"errors"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/enforce/execguard"
	"github.com/vigil-sec/vigil/internal/enforce/fileguard"
	"github.com/vigil-sec/vigil/internal/enforce/lsm"
	"github.com/vigil-sec/vigil/internal/enforce/modguard"
	"github.com/vigil-sec/vigil/internal/enforce/netguard"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// Decoders are the enforcement records' decoders by wire kind. Hold
// records are not events: the agent hands them to Hold.
func (e *Enforcer) Decoders() map[uint16]func(raw []byte) (*event.Event, error) {
	t := e.cfg.Clock.Time
	return map[uint16]func([]byte) (*event.Event, error){
		wire.EnforceExec:   execguard.Decoder{Clock: t}.Decode,
		wire.EnforceFile:   fileguard.Decoder{Clock: t}.Decode,
		wire.EnforceNet:    netguard.Decoder{Clock: t}.Decode,
		wire.EnforceModule: modguard.Decoder{Clock: t}.Decode,
		wire.EnforceLSM:    lsm.Decoder{Clock: t}.Decode,
	}
}

// Programs names the loaded enforcement programs by mechanism, for their
// run-time statistics.
func (e *Enforcer) Programs() map[string]map[string]*ebpf.Program {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]map[string]*ebpf.Program{}
	for _, m := range e.loaded() {
		out[m.name] = m.obj.Programs()
	}
	return out
}

// loadedMech is a loaded mechanism's object.
type loadedMech struct {
	name string
	obj  interface {
		Programs() map[string]*ebpf.Program
		Close() error
	}
}

// loaded lists the mechanisms whose object is loaded, in the order Close
// closes them.
func (e *Enforcer) loaded() []loadedMech {
	var out []loadedMech
	add := func(ok bool, m loadedMech) {
		if ok {
			out = append(out, m)
		}
	}
	add(e.exec != nil, loadedMech{MechExec, e.exec})
	add(e.net != nil, loadedMech{MechNet, e.net})
	add(e.file != nil, loadedMech{MechFile, e.file})
	add(e.mod != nil, loadedMech{MechModules, e.mod})
	add(e.xdp != nil, loadedMech{MechPackets, e.xdp})
	add(e.lsm != nil, loadedMech{MechLSM, e.lsm})
	add(e.pscope != nil, loadedMech{MechPods, e.pscope})
	return out
}

// Uninstall removes every pin under dir: the enforcement programs detach
// and their tables go. For `vigil policy clear` with no agent running.
// Processes still held for hashing are continued first: their expiry
// timers go with the tables.
func Uninstall(dir string) error {
	return errors.Join(execguard.ContinueHeld(dir), pinned.Remove(dir))
}
