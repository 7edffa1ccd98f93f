package agent

import (
	"io"

	"github.com/vigil-sec/vigil/internal/sensor/process"
	"github.com/vigil-sec/vigil/internal/wire"
)

func loadProcessSensor(a *Agent, h hostCgroups) (io.Closer, error) {
	s, err := process.Load(a.ring, process.Options{CgroupV1Subsys: h.v1SubsysID})
	if err != nil {
		return nil, err
	}
	dec := process.Decoder{Clock: a.clock.Time}
	a.decoders.set(wire.ProcessExec, dec.Exec)
	a.decoders.set(wire.ProcessExit, dec.Exit)
	a.decoders.set(wire.ProcessFork, dec.Fork)
	return s, nil
}
