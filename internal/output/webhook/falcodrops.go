package webhook

import (
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
)

// FalcoDropsRule names the notice a drops record becomes in the falco
// payload, as Falco names its own ("Falco internal: syscall event drop").
const FalcoDropsRule = "vigil internal: events dropped"

// falcoDrops is a drops record as a Falco-shaped notice: priority Warning
// (a lost event may be a missed attack, and common minimumpriority
// settings pass it), n_drops as Falco's drop alerts carry it, and one vigil.drops.STAGE.REASON[.KIND|.OUTPUT] field
// per count.
func falcoDrops(d *event.Drops, hostname string) falcoPayload {
	if hostname == "" {
		hostname = d.Node
	}
	f := map[string]any{
		"evt.time":          d.Time.UnixNano(),
		"evt.hostname":      hostname,
		"n_drops":           d.Total,
		"vigil.kind":        string(event.KindDrops),
		"vigil.drops.since": d.Since.UTC(),
		"vigil.drops.until": d.Until.UTC(),
	}
	for _, c := range d.Counts {
		key := "vigil.drops." + c.Stage + "." + c.Reason
		if c.Kind != "" {
			key += "." + string(c.Kind)
		}
		if c.Output != "" {
			key += "." + c.Output
		}
		n, _ := f[key].(uint64)
		f[key] = n + c.Count
	}
	var b strings.Builder
	b.WriteString(d.Time.UTC().Format("15:04:05.000000000"))
	b.WriteString(": Warning ")
	b.WriteString(FalcoDropsRule)
	b.WriteString(". ")
	b.WriteString(output.DropsSummary(d))
	return falcoPayload{
		Output:       b.String(),
		Priority:     "Warning",
		Rule:         FalcoDropsRule,
		Time:         d.Time.UTC(),
		OutputFields: f,
		Source:       "syscall",
		Tags:         []string{"vigil", "drops"},
		Hostname:     hostname,
	}
}
