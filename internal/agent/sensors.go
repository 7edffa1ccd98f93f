package agent

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// SensorStatus says whether a sensor runs.
type SensorStatus struct {
	Name    string `json:"name"`
	Running bool   `json:"running"`
	// Error says why a sensor that should run does not.
	Error string `json:"error,omitempty"`
}

// sensorLoader loads and attaches one sensor, registers its decoders, and
// returns what detaches it.
type sensorLoader struct {
	name string
	// required sensors stop the agent when they fail; the others are
	// reported as not running and the agent goes on without them, each
	// in its own collection so that one failure cannot sink the rest.
	required bool
	load     func(a *Agent, h hostCgroups) (io.Closer, error)
}

// sensorLoaders lists every sensor in load order.
func sensorLoaders() []sensorLoader {
	return []sensorLoader{
		{name: "process", required: true, load: loadProcessSensor},
		{name: "network", load: loadNetworkSensor},
		{name: "privilege", load: loadPrivilegeSensor},
		{name: "file", load: loadFileSensor},
	}
}

// loadSensors loads the required sensors first, one after the other, then
// the others and alongside (the enforce stage, which must attach after
// the process sensor so that it reports an exec before the exec guard
// kills) all at once: loading is mostly the kernel verifying programs,
// which runs on as many CPUs as there are loaders. Results are recorded
// in list order whatever order the loads finish in.
func (a *Agent) loadSensors(h hostCgroups, alongside func()) error {
	type result struct {
		closer io.Closer
		err    error
	}
	loaders := sensorLoaders()
	results := make([]result, len(loaders))
	load := func(i int) {
		t := time.Now()
		results[i].closer, results[i].err = loaders[i].load(a, h)
		a.took("sensor "+loaders[i].name, t)
	}
	for i, s := range loaders {
		if !s.required {
			continue
		}
		if load(i); results[i].err != nil {
			return fmt.Errorf("%s sensor: %w", s.name, results[i].err)
		}
		a.addSensor(s.name, results[i].closer)
	}
	var wg sync.WaitGroup
	for i, s := range loaders {
		if !s.required {
			wg.Go(func() { load(i) })
		}
	}
	if alongside != nil {
		wg.Go(alongside)
	}
	wg.Wait()
	for i, s := range loaders {
		if s.required {
			continue
		}
		if err := results[i].err; err != nil {
			a.log.Error("sensor not running", "sensor", s.name, "err", err)
			a.sensorStatus = append(a.sensorStatus, SensorStatus{Name: s.name, Error: err.Error()})
			continue
		}
		a.addSensor(s.name, results[i].closer)
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
