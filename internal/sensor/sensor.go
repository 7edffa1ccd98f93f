// Package sensor is what every sensor gives the agent: a Description
// (its name, whether the agent can run without it, and how to load it),
// and once loaded, a Sensor and the decoders of its records by wire kind.
// The sensors are this folder's subpackages, each one kernel object; they
// load through internal/bpfload. The agent lists the descriptions itself:
// there is no registry.
package sensor

import (
	"fmt"
	"log/slog"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/wire"
)

// Sensor is a loaded and attached sensor.
type Sensor interface {
	// Close detaches the programs and releases them.
	Close() error
	// Programs are the loaded programs by name, for their run statistics.
	Programs() map[string]*ebpf.Program
	// Degraded says what the sensor was asked to watch and cannot on this
	// kernel, or "".
	Degraded() string
}

// Decode turns one record into an event.
type Decode func(raw []byte) (*event.Event, error)

// Env is what the agent hands every sensor it loads.
type Env struct {
	// Ring is the shared ring buffer the programs write into.
	Ring *ring.Ring
	// Clock dates the records.
	Clock wire.Clock
	// Log takes what a sensor says about how it runs (calls it cannot
	// watch, names it cannot resolve).
	Log *slog.Logger
}

// Description is one sensor as the agent runs it.
type Description struct {
	Name string
	// Required sensors stop the agent when they fail to load; the others
	// are reported as not running.
	Required bool
	// Load loads and attaches the sensor and returns its decoders by wire
	// kind. Nothing is reported before Load returns.
	Load func(env Env) (Sensor, map[uint16]Decode, error)
}

// ByKind is dec for the wire number of each of kinds.
func ByKind(kinds []event.Kind, dec Decode) (map[uint16]Decode, error) {
	out := make(map[uint16]Decode, len(kinds))
	for _, k := range kinds {
		w, ok := wire.Kind(k)
		if !ok {
			return nil, fmt.Errorf("event kind %s has no wire number", k)
		}
		out[w] = dec
	}
	return out, nil
}
