package output

import (
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
)

// DropsSummary is what a drops record says, without its times: the total
// and the counts, largest first ("1234 lost: kernel ringbuf_full
// file_open 1200, output queue_full siem 34"). The agent's log warning
// says the same.
func DropsSummary(d *event.Drops) string {
	var b strings.Builder
	b.WriteString(strconv.FormatUint(d.Total, 10))
	b.WriteString(" lost")
	for i, c := range d.Counts {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(c.Stage)
		b.WriteByte(' ')
		b.WriteString(c.Reason)
		if c.Kind != "" {
			b.WriteByte(' ')
			b.WriteString(string(c.Kind))
		}
		if c.Output != "" {
			b.WriteByte(' ')
			b.WriteString(c.Output)
		}
		b.WriteByte(' ')
		b.WriteString(strconv.FormatUint(c.Count, 10))
	}
	return b.String()
}

// DropsText renders a drops record as one line of the text format:
//
//	15:04:05.000000 DROPS 1234 lost in 10s: kernel ringbuf_full file_open 1200, output queue_full siem 34
func DropsText(d *event.Drops) string {
	var b strings.Builder
	b.WriteString(d.Time.Local().Format("15:04:05.000000"))
	b.WriteString(" DROPS ")
	b.WriteString(dropsLine(d))
	return termsafe.Escape(b.String())
}

// dropsLine is the summary with the period's length after the total.
func dropsLine(d *event.Drops) string {
	s := DropsSummary(d)
	period := d.Until.Sub(d.Since).Round(time.Millisecond).String()
	return strings.Replace(s, " lost", " lost in "+period, 1)
}

// Drops renders a drops record in the compact format.
func (c Compact) Drops(d *event.Drops) string {
	return "⚠️ " + c.paint(ansiYellow, padRight("drops", 10)) + termsafe.Escape(dropsLine(d))
}
