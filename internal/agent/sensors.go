package agent

import (
	"fmt"
	"io"
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

func (a *Agent) loadSensors(h hostCgroups) error {
	for _, s := range sensorLoaders() {
		closer, err := s.load(a, h)
		if err != nil {
			if s.required {
				return fmt.Errorf("%s sensor: %w", s.name, err)
			}
			a.log.Error("sensor not running", "sensor", s.name, "err", err)
			a.sensorStatus = append(a.sensorStatus, SensorStatus{Name: s.name, Error: err.Error()})
			continue
		}
		a.sensors = append(a.sensors, closer)
		a.trackPrograms(s.name, closer)
		a.sensorStatus = append(a.sensorStatus, SensorStatus{Name: s.name, Running: true})
	}
	return nil
}

// Sensors reports which sensors run.
func (a *Agent) Sensors() []SensorStatus {
	return append([]SensorStatus(nil), a.sensorStatus...)
}
