package event

import (
	"encoding/json"
	"time"
)

// KindDrops is Drops.Kind. Like an alert, a drops record is not an event
// kind: nothing in the kernel produces it, no rule tests it and no output
// filter selects it (every output receives it), so it has no row in the
// table of kinds.
const KindDrops Kind = "drops"

// Drops is the agent's report of what it lost since its previous report:
// records the kernel could not deliver, state it could not keep, records
// that did not decode, items outputs dropped. It is written to every
// output, at most once per reporting interval, and only when something
// was lost; docs/events.md documents it.
type Drops struct {
	// Time is when the report was made (the end of the period).
	Time time.Time `json:"time"`
	// Kind is always "drops".
	Kind Kind   `json:"kind"`
	Node string `json:"node"`
	// Since and Until bound the period the counts cover: Since is the
	// previous report's Until (the agent's start for the first).
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Total adds up Counts.
	Total uint64 `json:"total"`
	// Counts are the losses of the period, one per (stage, reason, kind,
	// output), none zero.
	Counts []DropCount `json:"counts"`
}

// DropCount is how many items one stage lost for one reason.
type DropCount struct {
	// Stage is where: kernel, pipeline or output.
	Stage string `json:"stage"`
	// Reason says why: ringbuf_full, map_full, truncated (kernel);
	// malformed (pipeline); queue_full, sink_dropped, stream_dropped
	// (output).
	Reason string `json:"reason"`
	// Kind is the record's kind, for kernel losses.
	Kind Kind `json:"kind,omitempty"`
	// Output names the output, for output losses.
	Output string `json:"output,omitempty"`
	Count  uint64 `json:"count"`
}

// The stages a DropCount names.
const (
	DropStageKernel   = "kernel"
	DropStagePipeline = "pipeline"
	DropStageOutput   = "output"
)

// The reasons of the pipeline and output stages (the kernel's are
// internal/ring's Reason values); docs/events.md explains each.
const (
	DropMalformed        = "malformed"
	DropSinkRefused      = "sink_refused"
	DropHoldTimeout      = "hold_timeout"
	DropHoldFull         = "hold_full"
	DropIntelHashDropped = "intel_hash_dropped"
	DropQueueFull        = "queue_full"
	DropSinkDropped      = "sink_dropped"
	DropStreamDropped    = "stream_dropped"
)

// DropReasons are the reasons above, for the documentation's test.
func DropReasons() []string {
	return []string{DropMalformed, DropSinkRefused, DropHoldTimeout, DropHoldFull, DropIntelHashDropped,
		DropQueueFull, DropSinkDropped, DropStreamDropped}
}

// AppendJSON appends d's JSON, as the outputs write it.
func (d *Drops) AppendJSON(b []byte) ([]byte, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return b, err
	}
	return append(b, raw...), nil
}
