package rule

import (
	"github.com/vigil-sec/vigil/internal/binfact"
	"github.com/vigil-sec/vigil/internal/event"
)

// asEnrichedToday completes an event recorded (testdata/*.jsonl.gz)
// before the agent judged binaries: on the recording hosts (stock Debian)
// every file in a system directory is root-owned and writable by root
// alone, so the enrichment stage marks exactly those binary_trusted.
// Events that carry the fact already are left alone.
func asEnrichedToday(ev *event.Event) *event.Event {
	for _, p := range []*event.Process{ev.Process, ev.Parent} {
		if p != nil {
			p.BinaryTrusted = p.BinaryTrusted || binfact.SystemDir(p.Binary)
		}
	}
	for i := range ev.Ancestors {
		a := &ev.Ancestors[i]
		a.Trusted = a.Trusted || binfact.SystemDir(a.Binary)
	}
	return ev
}
