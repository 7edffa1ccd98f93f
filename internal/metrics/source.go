// Package metrics exports vigil's counters to Prometheus. A Collector reads
// them at scrape time from small interfaces the agent, the outputs and the
// local API implement, counters the pipeline keeps anyway (the rule
// stage's timing, two clock reads per event, is the one measurement made
// for metrics); Listen and Serve run the HTTP endpoint (/metrics, /healthz,
// /readyz). Declared lists every family served, for checks that need no
// agent (the Grafana dashboard's).
package metrics

import (
	"time"

	"github.com/vigil-sec/vigil/internal/output"
)

// Pipeline is what the agent reports about its own stages.
type Pipeline interface {
	PipelineStats() PipelineStats
}

// Outputs is what the fan-out reports.
type Outputs interface {
	Stats() []output.RouteStats
	Alerts() []output.AlertCount
}

// Streams is what the local API reports about its live subscribers.
type Streams interface {
	StreamStats() StreamStats
}

// PipelineStats is one reading of the agent's counters.
type PipelineStats struct {
	// Records counts records read from the ring, by event kind.
	Records map[string]uint64
	// KernelLosses are the kernel's drop counters.
	KernelLosses []KernelLoss
	// Malformed records did not decode.
	Malformed uint64
	// SinkErrors counts writes the pipeline's sink (the fan-out) refused:
	// vigil_sink_errors_total.
	SinkErrors  uint64
	RingPending int
	RingSize    int
	ProcCache   ProcCache
	Containers  Containers
	Sensors     []Sensor
	// Programs are the sensors' BPF programs; their run counts and times
	// stay zero unless kernel.bpf_stats_enabled is on.
	Programs []Program
	// RuleEval is how long the rule stage takes per event.
	RuleEval Histogram
	// Rules and Policies are how many are loaded.
	Rules    int
	Policies int
	// Reloads counts configuration reloads (SIGHUP, changed files) by
	// what was reloaded and the result.
	Reloads map[ReloadKey]uint64
	// Enforcement is what the enforce stage did; nil without one.
	Enforcement *Enforcement
	// Kubernetes is the pod watch, nil without one.
	Kubernetes *Kubernetes
	// Intel is what the threat-intelligence stage matched; nil without
	// one.
	Intel *Intel
	// KernelModules counts the kernel's modules by kind (loaded,
	// builtin) and taint ("none", or each taint a module carries).
	KernelModules []KernelModules
}

// Intel is the intel stage's counters.
type Intel struct {
	Hits []IntelHit
	// Hashed counts binaries read for md5/sha1/sha512; HashDropped the
	// execs the full queue left unchecked.
	Hashed, HashDropped uint64
	// DNSSuppressed counts DNS alerts the throttle held back;
	// ApplyFailures the sets the kernel's tables refused.
	DNSSuppressed, ApplyFailures uint64
}

// IntelHit is one count of an indicator type's hits.
type IntelHit struct {
	Source, Type, Action string
	Count                uint64
}

// KernelModules is one count of vigil_kernel_modules.
type KernelModules struct {
	Kind, Taint string
	Count       int
}

// ReloadKey names a count of reloads: What is rules or policies, Result
// applied or rejected.
type ReloadKey struct{ What, Result string }

// Enforcement is the enforce stage's counters.
type Enforcement struct {
	// Hits are the kernel's per-policy counters (pinned: they count on
	// while no agent runs), by action.
	Hits []PolicyHit
	// UserspaceKills are kills the agent sent, UserspaceKillFailures the
	// ones that found the process gone; KillLatency is their latency.
	UserspaceKills, UserspaceKillFailures uint64
	KillLatency                           Histogram
	// Holds counts binaries held for hashing, by outcome: held, killed,
	// overflow (released unhashed: the queue was full), late (decided
	// after the process ran), and the kernel's fail-opens (pinned, since
	// the pins were made): expired, not_held.
	Holds map[string]uint64
	// PacketsDropped and PacketBytesDropped sum the packet filter's
	// drops over every listed prefix.
	PacketsDropped, PacketBytesDropped uint64
}

// PolicyHit is one kernel counter of a policy.
type PolicyHit struct {
	Policy, Action string
	Count          uint64
}

// KernelLoss is one kernel drop counter.
type KernelLoss struct {
	Reason string // ringbuf_full, truncated, map_full
	Kind   string
	Count  uint64
}

// ProcCache is the process cache's size and turnover.
type ProcCache struct {
	Entries   int
	Evictions uint64
	// LiveEvictions are the evictions of live processes (the cache was
	// full of them); Recovered, processes read from /proc after a miss.
	LiveEvictions uint64
	Recovered     uint64
	Expired       uint64
}

// Containers are the container cache's size and turnover, and what the
// hold for late metadata did.
type Containers struct {
	Entries   int
	Evictions uint64
	// Held counts events held back, HeldNow those held at the moment;
	// Releases counts containers let go, by reason (settled, gave_up,
	// overflow).
	Held     uint64
	HeldNow  int
	Releases map[string]uint64
}

// Sensor says whether a sensor runs, and how.
type Sensor struct {
	Name string
	// Mode is full, degraded or off.
	Mode string
}

// Program is one BPF program's run-time statistics.
type Program struct {
	Sensor          string
	Name            string
	RunCount        uint64
	RunTime         time.Duration
	RecursionMisses uint64
}

// Histogram is a fixed-bucket histogram of durations, in seconds.
type Histogram struct {
	// Bounds are the buckets' upper bounds, ascending.
	Bounds []float64
	// Counts[i] counts observations at most Bounds[i] (cumulative, as
	// Prometheus wants them).
	Counts []uint64
	Count  uint64
	Sum    float64
}

// StreamStats are the live event streams' numbers.
type StreamStats struct {
	Subscribers int
	// Dropped counts items a slow subscriber could not take.
	Dropped uint64
}
