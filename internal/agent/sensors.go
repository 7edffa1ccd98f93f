package agent

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/sensor"
	"github.com/vigil-sec/vigil/internal/sensor/file"
	"github.com/vigil-sec/vigil/internal/sensor/iouring"
	"github.com/vigil-sec/vigil/internal/sensor/network"
	"github.com/vigil-sec/vigil/internal/sensor/privilege"
	"github.com/vigil-sec/vigil/internal/sensor/process"
)

// SensorStatus says whether a sensor runs.
type SensorStatus struct {
	Name    string `json:"name"`
	Running bool   `json:"running"`
	// Error says why a sensor that should run does not.
	Error string `json:"error,omitempty"`
}

// sensorList lists every sensor in load order, the observers asked for
// last.
func (a *Agent) sensorList(h hostCgroups) []sensor.Description {
	return append([]sensor.Description{
		process.Describe(process.Options{CgroupV1Subsys: h.v1SubsysID, Env: a.processEnv()}),
		network.Describe(a.cfg.Network),
		privilege.Describe(a.cfg.Privilege),
		file.Describe(a.cfg.File),
		iouring.Describe(),
	}, a.observerList(h)...)
}

// processEnv is the configured environment watch, or the default one.
func (a *Agent) processEnv() process.Env {
	if a.cfg.ProcessEnv.Names == nil {
		return process.DefaultEnv()
	}
	return a.cfg.ProcessEnv
}

// loadSensor loads and attaches one sensor and registers its decoders.
func (a *Agent) loadSensor(d sensor.Description) (sensor.Sensor, error) {
	s, decs, err := d.Load(sensor.Env{Ring: a.ring, Clock: a.clock.Time, Log: a.log})
	if err != nil {
		return nil, err
	}
	for kind, dec := range decs {
		a.decoders.set(kind, decodeFunc(dec))
	}
	return s, nil
}

// loadSensors loads the required sensors first, one after the other, then
// the others and alongside (the enforce stage, which must attach after
// the process sensor so that it reports an exec before the exec guard
// kills) all at once: loading is mostly the kernel verifying programs,
// which runs on as many CPUs as there are loaders. Results are recorded
// in list order whatever order the loads finish in.
func (a *Agent) loadSensors(h hostCgroups, alongside func()) error {
	type result struct {
		sensor sensor.Sensor
		err    error
	}
	loaders := a.sensorList(h)
	results := make([]result, len(loaders))
	load := func(i int) {
		t := time.Now()
		results[i].sensor, results[i].err = a.loadSensor(loaders[i])
		a.took("sensor "+loaders[i].Name, t)
	}
	for i, s := range loaders {
		if !s.Required {
			continue
		}
		if load(i); results[i].err != nil {
			return fmt.Errorf("%s sensor: %w", s.Name, results[i].err)
		}
		a.addSensor(s.Name, results[i].sensor)
	}
	var wg sync.WaitGroup
	for i, s := range loaders {
		if !s.Required {
			wg.Go(func() { load(i) })
		}
	}
	if alongside != nil {
		wg.Go(alongside)
	}
	wg.Wait()
	for i, s := range loaders {
		if s.Required {
			continue
		}
		if err := results[i].err; err != nil {
			a.log.Error("sensor not running", "sensor", s.Name, "err", err)
			a.sensorStatus = append(a.sensorStatus, SensorStatus{Name: s.Name, Error: err.Error()})
			continue
		}
		a.addSensor(s.Name, results[i].sensor)
	}
	return nil
}

func (a *Agent) addSensor(name string, c io.Closer) {
	a.sensors = append(a.sensors, c)
	a.trackPrograms(name, c)
	a.sensorStatus = append(a.sensorStatus, SensorStatus{Name: name, Running: true})
}

// Sensors reports which sensors run.
func (a *Agent) Sensors() []SensorStatus {
	return append([]SensorStatus(nil), a.sensorStatus...)
}
