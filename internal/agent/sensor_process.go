package agent

import (
	"io"

	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/process"
)

func loadProcessSensor(a *Agent, h hostCgroups) (io.Closer, error) {
	s, err := process.Load(a.ring, process.Options{CgroupV1Subsys: h.v1SubsysID})
	if err != nil {
		return nil, err
	}
	dec := process.Decoder{Time: a.clock.Time}
	a.decoders.set(ring.WireProcessExec, dec.Exec)
	a.decoders.set(ring.WireProcessExit, dec.Exit)
	a.decoders.set(ring.WireProcessFork, dec.Fork)
	return s, nil
}
