package metrics

import "github.com/prometheus/client_golang/prometheus"

// descs describe every metric the Collector exports; docs/metrics.md lists
// them with their meaning.
type descs struct {
	events, alerts, enforcement, drops, kernelDrops           *prometheus.Desc
	ringSize, ringPending, ringFill                           *prometheus.Desc
	procEntries, procEvictions, procExpired                   *prometheus.Desc
	sensorUp, bpfStatsEnabled, progRuns, progTime, progMisses *prometheus.Desc
	ruleEval, rules, policies                                 *prometheus.Desc
	outQueueDepth, outQueueCap, outWritten, outDelivered      *prometheus.Desc
	outDropped, outErrors, outRetries, outUp, outLastOK       *prometheus.Desc
	apiSubscribers                                            *prometheus.Desc
}

func newDescs() descs {
	n := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("vigil_"+name, help, labels, nil)
	}
	return descs{
		events:      n("events_total", "Records read from the kernel ring buffer, by event kind.", "kind"),
		alerts:      n("alerts_total", "Alerts raised, by rule, severity and action.", "rule", "severity", "action"),
		enforcement: n("enforcement_total", "Alerts whose rule or policy acted (killed, denied) or would have (would_kill, would_deny).", "rule", "action"),
		drops: n("drops_total", "Data lost, by pipeline stage: kernel_ringbuf_full, kernel_truncated (delivered but cut), "+
			"kernel_map_full, decode, output_queue, output_sink, api_stream.", "stage"),
		kernelDrops: n("kernel_drops_total", "The kernel's drop counters, by reason and event kind.", "reason", "kind"),

		ringSize:    n("ring_buffer_size_bytes", "Size of the kernel ring buffer."),
		ringPending: n("ring_buffer_pending_bytes", "Bytes of records waiting in the ring buffer."),
		ringFill:    n("ring_buffer_fill_ratio", "Pending bytes over the ring buffer's size."),

		procEntries:   n("process_cache_entries", "Processes in the process cache."),
		procEvictions: n("process_cache_evictions_total", "Processes forgotten because the cache was full."),
		procExpired:   n("process_cache_expired_total", "Exited processes forgotten after their grace period."),

		sensorUp:        n("sensor_up", "1 when the sensor runs, 0 when it does not; mode is full, degraded or off.", "sensor", "mode"),
		bpfStatsEnabled: n("bpf_stats_enabled", "1 while kernel.bpf_stats_enabled is on (vigil run --bpf-stats): program run counts and times accrue only then."),
		progRuns:        n("bpf_program_runs_total", "Times a sensor's BPF program ran (with bpf stats on).", "sensor", "program"),
		progTime:        n("bpf_program_run_seconds_total", "Time a sensor's BPF program spent running (with bpf stats on).", "sensor", "program"),
		progMisses:      n("bpf_program_recursion_misses_total", "Times a sensor's BPF program was skipped because another BPF program was running on the CPU.", "sensor", "program"),

		ruleEval: n("rule_evaluation_seconds", "Time the rule stage took per event."),
		rules:    n("rules_loaded", "Rules loaded."),
		policies: n("policies_loaded", "Enforcement policies loaded."),

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
	}
}

func (d *descs) all() []*prometheus.Desc {
	return []*prometheus.Desc{
		d.events, d.alerts, d.enforcement, d.drops, d.kernelDrops,
		d.ringSize, d.ringPending, d.ringFill,
		d.procEntries, d.procEvictions, d.procExpired,
		d.sensorUp, d.bpfStatsEnabled, d.progRuns, d.progTime, d.progMisses,
		d.ruleEval, d.rules, d.policies,
		d.outQueueDepth, d.outQueueCap, d.outWritten, d.outDelivered,
		d.outDropped, d.outErrors, d.outRetries, d.outUp, d.outLastOK,
		d.apiSubscribers,
	}
}
