// Package iouring is the io_uring sensor: rings set up, and the opens and
// connects that io_uring requests make without any system call the file
// and network sensors watch. It attaches to io_uring's own BTF-typed
// tracepoints (io_uring_create, io_uring_complete) and reports each
// request as the event the system call would have been (file_open,
// net_connect) with syscall.via "io_uring", so the same rules see it.
package iouring

import (
	"github.com/vigil-sec/vigil/internal/bpfload"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor"
	"github.com/vigil-sec/vigil/internal/wire"
)

// Sensor holds the loaded programs and their attachments.
type Sensor struct {
	*bpfload.Loaded
}

// Load loads the sensor's programs, sharing r's ring buffer, and attaches
// them. Nothing is reported before Load returns.
func Load(r *ring.Ring) (*Sensor, error) {
	spec, err := loadIouring()
	if err != nil {
		return nil, err
	}
	l, err := bpfload.Load(r, bpfload.Object{Name: "io_uring sensor", Spec: spec})
	if err != nil {
		return nil, err
	}
	return &Sensor{l}, nil
}

// Degraded is always "": the sensor runs whole or not at all.
func (s *Sensor) Degraded() string { return "" }

// Describe is the io_uring sensor as the agent runs it: not required (a
// kernel built without io_uring has none of its tracepoints, and the agent
// runs on without it, reported as not running).
func Describe() sensor.Description {
	return sensor.Description{Name: "io_uring", Load: func(env sensor.Env) (sensor.Sensor, map[uint16]sensor.Decode, error) {
		s, err := Load(env.Ring)
		if err != nil {
			return nil, nil, err
		}
		dec := Decoder{Clock: env.Clock}
		return s, map[uint16]sensor.Decode{
			wire.IOURingCreate: dec.Create, wire.IOURingOpen: dec.Open, wire.IOURingConnect: dec.Connect,
		}, nil
	}}
}
