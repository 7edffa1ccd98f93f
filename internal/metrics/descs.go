package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vigil-sec/vigil/internal/output"
)

// descs describe every metric the Collector exports; docs/metrics.md lists
// them with their meaning.
type descs struct {
	// declared is every name with its type, in the order made
	declared []declared

	events, alerts, enforcement, drops, kernelDrops           *prometheus.Desc
	ringSize, ringPending, ringFill                           *prometheus.Desc
	procEntries, procEvictions, procExpired                   *prometheus.Desc
	procLiveEvictions, procRecovered                          *prometheus.Desc
	ctrEntries, ctrEvictions, ctrHeld, ctrHeldNow, ctrRelease *prometheus.Desc
	sensorUp, bpfStatsEnabled, progRuns, progTime, progMisses *prometheus.Desc
	ruleEval, rules, policies, reloads                        *prometheus.Desc
	outQueueDepth, outQueueCap, outWritten, outDelivered      *prometheus.Desc
	outDropped, outErrors, outRetries, outUp, outLastOK       *prometheus.Desc
	apiSubscribers, sinkErrors, kernelModules                 *prometheus.Desc
	policyHits, userKills, userKillFails, userKillLatency     *prometheus.Desc
	execHolds, packetsDropped, packetBytesDropped             *prometheus.Desc
	intelHits, intelHashed, intelHashDropped                  *prometheus.Desc
	intelDNSSuppressed, intelApplyFailures                    *prometheus.Desc
	kube                                                      kubeDescs
	observe                                                   observeDescs
}

type declared struct {
	name string
	typ  dto.MetricType
	desc *prometheus.Desc
}

// newDescs declares the metrics; pod names the pod labels the alert
// counts carry (docs/metrics.md: only when asked).
func newDescs(pod output.PodLabels) descs {
	var made []declared
	declare := func(typ dto.MetricType, name, help string, labels []string) *prometheus.Desc {
		d := prometheus.NewDesc("vigil_"+name, help, labels, nil)
		made = append(made, declared{"vigil_" + name, typ, d})
		return d
	}
	// n declares a counter (a name ending in _total) or a gauge
	n := func(name, help string, labels ...string) *prometheus.Desc {
		typ := dto.MetricType_GAUGE
		if strings.HasSuffix(name, "_total") {
			typ = dto.MetricType_COUNTER
		}
		return declare(typ, name, help, labels)
	}
	hist := func(name, help string) *prometheus.Desc {
		return declare(dto.MetricType_HISTOGRAM, name, help, nil)
	}
	d := descs{
		events: n("events_total", "Records read from the kernel ring buffer, by event kind.", "kind"),
		alerts: n("alerts_total", "Alerts raised, by rule, severity and action (and the pod's namespace, pod or workload when asked).",
			append([]string{"rule", "severity", "action"}, pod.Names()...)...),
		enforcement: n("enforcement_total", "Alerts whose rule or policy acted (killed, denied) or would have (would_kill, would_deny).",
			append([]string{"rule", "action"}, pod.Names()...)...),
		drops: n("drops_total", "Data lost, by pipeline stage: kernel_ringbuf_full, kernel_truncated (delivered but cut), "+
			"kernel_map_full, decode, output_queue, output_sink, api_stream.", "stage"),
		kernelDrops: n("kernel_drops_total", "The kernel's drop counters, by reason and event kind.", "reason", "kind"),

		ringSize:    n("ring_buffer_size_bytes", "Size of the kernel ring buffer."),
		ringPending: n("ring_buffer_pending_bytes", "Bytes of records waiting in the ring buffer."),
		ringFill:    n("ring_buffer_fill_ratio", "Pending bytes over the ring buffer's size."),

		procEntries:   n("process_cache_entries", "Processes in the process cache."),
		procEvictions: n("process_cache_evictions_total", "Processes forgotten because the cache was full."),
		procLiveEvictions: n("process_cache_live_evictions_total",
			"Live processes forgotten because the cache was full of live processes (exited ones go first)."),
		procRecovered: n("process_cache_recovered_total", "Processes read from /proc because an event's ancestry needed one the cache had lost."),
		procExpired:   n("process_cache_expired_total", "Exited processes forgotten after their grace period."),

		ctrEntries:   n("container_cache_entries", "Containers whose metadata the agent keeps."),
		ctrEvictions: n("container_cache_evictions_total", "Containers forgotten because the container cache was full."),
		ctrHeld:      n("container_held_events_total", "Events held back while a new container's metadata was being looked up."),
		ctrHeldNow:   n("container_held_events", "Events held back now."),
		ctrRelease: n("container_hold_releases_total", "Containers whose held events went on, by reason: settled (the metadata source answered), "+
			"gave_up (held for the limit, sent without names), overflow (the hold was full).", "reason"),

		sensorUp:        n("sensor_up", "1 when the sensor runs, 0 when it does not; mode is full, degraded or off.", "sensor", "mode"),
		bpfStatsEnabled: n("bpf_stats_enabled", "1 while kernel.bpf_stats_enabled is on (vigil run --bpf-stats): program run counts and times accrue only then."),
		progRuns:        n("bpf_program_runs_total", "Times a sensor's BPF program ran (with bpf stats on).", "sensor", "program"),
		progTime:        n("bpf_program_run_seconds_total", "Time a sensor's BPF program spent running (with bpf stats on).", "sensor", "program"),
		progMisses:      n("bpf_program_recursion_misses_total", "Times a sensor's BPF program was skipped because another BPF program was running on the CPU.", "sensor", "program"),

		ruleEval: hist("rule_evaluation_seconds", "Time the rule stage took per event."),
		rules:    n("rules_loaded", "Rules loaded."),
		policies: n("policies_loaded", "Enforcement policies loaded."),
		reloads: n("config_reloads_total", "Reloads of the rules or the policy files (SIGHUP, or their files changed), by result: "+
			"applied, or rejected (the set had errors, logged with file and line; the last good set stays).", "what", "result"),

		policyHits:      n("policy_hits_total", "What the kernel did for a policy (killed, denied, would_kill, would_deny, held), counted in pinned maps: it includes what happened while no agent ran.", "policy", "action"),
		userKills:       n("userspace_kills_total", "Processes the agent killed from user space (rules the kernel cannot decide, replaced binaries, hashes found after the fact)."),
		userKillFails:   n("userspace_kill_failures_total", "User-space kills that found the process already gone."),
		userKillLatency: hist("userspace_kill_latency_seconds", "Time from the event to the agent's SIGKILL, for user-space kills."),
		execHolds:       n("exec_holds_total", "Binaries the kernel stopped before their first instruction to be hashed, by outcome: held, killed, overflow (released unhashed, the queue was full), late (the verdict came after the process ran), and the kernel's fail-opens since the pins were made: expired (a hold continued by its timer), not_held (an exec run unheld), both because the agent's heartbeat was stale.", "outcome"),
		packetsDropped:  n("packets_dropped_total", "Ingress packets the packet filter dropped, over every listed source prefix."),
		intelHits: n("intel_hits_total", "Hits of threat-intelligence indicators, by source, indicator type (sha256, md5, sha1, sha512, ip, domain) and action (killed, denied, would_kill, would_deny, alert).",
			"source", "type", "action"),
		intelHashed:        n("intel_binaries_hashed_total", "Executed binaries the agent read to match md5, sha1 or sha512 indicators (a cached binary is not read again)."),
		intelHashDropped:   n("intel_hash_dropped_total", "Execs not checked against md5, sha1 or sha512 indicators: the hashing queue was full."),
		intelDNSSuppressed: n("intel_dns_alerts_suppressed_total", "DNS alerts for listed domains held back by the per (process, source, name) throttle: one alert a minute each."),
		intelApplyFailures: n("intel_apply_failures_total", "Intel sets the enforce stage refused (too many packet prefixes, a scope that does not resolve); the previous indicators stay in force in the kernel."),
		packetBytesDropped: n("packet_bytes_dropped_total", "Bytes of the packets the packet filter dropped, Ethernet headers included."),

		outQueueDepth: n("output_queue_depth", "Items waiting for the output.", "output", "type"),
		outQueueCap:   n("output_queue_capacity", "Most items that may wait for the output.", "output", "type"),
		outWritten:    n("output_written_total", "Items the output's sink took.", "output", "type"),
		outDelivered:  n("output_delivered_total", "Items the far end acknowledged (webhook), or written (others).", "output", "type"),
		outDropped:    n("output_dropped_total", "Items the output lost: queue_full (it could not keep up) or sink (a failed write; rejected, out of retries or interrupted at shutdown).", "output", "type", "reason"),
		outErrors:     n("output_errors_total", "Failed writes and flushes.", "output", "type"),
		outRetries:    n("output_retries_total", "Failed attempts that were retried (webhook).", "output", "type"),
		outUp:         n("output_up", "1 when the output's last attempt succeeded.", "output", "type"),
		outLastOK:     n("output_last_success_timestamp_seconds", "When the output last wrote successfully (Unix time), 0 if never.", "output", "type"),

		apiSubscribers: n("api_subscribers", "Live event streams open on the local API (vigil events)."),
		kernelModules: n("kernel_modules", "Kernel modules by kind (loaded, builtin) and taint: none, or each taint flag a module carries "+
			"(out_of_tree_module, unsigned_module, proprietary_module, forced_load, …), so a module with two counts twice.", "kind", "taint"),
		sinkErrors: n("sink_errors_total", "Writes and flushes the pipeline's sink (the fan-out) refused; each output's own failures are vigil_output_errors_total."),
	}
	d.kube = newKubeDescs(n)
	d.observe = newObserveDescs(n, func(name, help string, labels ...string) *prometheus.Desc {
		return declare(dto.MetricType_HISTOGRAM, name, help, labels)
	}, pod)
	d.declared = made
	return d
}

func (d *descs) all() []*prometheus.Desc {
	out := make([]*prometheus.Desc, len(d.declared))
	for i, m := range d.declared {
		out[i] = m.desc
	}
	return out
}
