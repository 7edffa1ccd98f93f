package agent

import (
	"log/slog"
	"sync/atomic"

	"github.com/vigil-sec/vigil/internal/event"
)

// wireKinds bounds the wire kind numbers (KIND_COUNT in common.h, held to
// the table of kinds by internal/ring's tests).
const wireKinds = event.WireKinds

type decodeFunc func(raw []byte) (*event.Event, error)

// decoders maps wire kinds to decoders: an array, since the kind is a
// small number and this lookup runs for every record.
type decoders [wireKinds]decodeFunc

func (d *decoders) set(kind uint16, f decodeFunc) { d[kind] = f }

func (d *decoders) get(kind uint16) decodeFunc {
	if int(kind) >= len(d) {
		return nil
	}
	return d[kind]
}

// counters are the pipeline's own tallies. Atomic, so that status readers
// on other goroutines see them while the pipeline runs.
type counters struct {
	byKind     [wireKinds]atomic.Uint64
	all        atomic.Uint64
	malformedN atomic.Uint64
	sinkErrN   atomic.Uint64
}

func (c *counters) record(kind uint16) {
	c.byKind[kind%wireKinds].Add(1)
	c.all.Add(1)
}

func (c *counters) total() uint64 { return c.all.Load() }

// malformed counts a record that did not decode; the first few are logged.
func (c *counters) malformed(log *slog.Logger, err error) {
	if n := c.malformedN.Add(1); n <= 10 || n&(n-1) == 0 {
		log.Warn("dropped malformed record", "err", err, "count", n)
	}
}

func (c *counters) sinkError(log *slog.Logger, err error) {
	if n := c.sinkErrN.Add(1); n <= 10 || n&(n-1) == 0 {
		log.Error("write output", "err", err, "count", n)
	}
}
