package top

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/output/termsafe"
)

// Frame is one refresh of top: the rows and what they cover.
type Frame struct {
	Time     time.Time
	Interval time.Duration
	Sort     SortKey
	Rows     []Row
}

// header marks the sorted column with a ▼ after its name.
func header(key SortKey) string {
	cols := []struct {
		name string
		key  SortKey
	}{{"CONTAINER", ""}, {"CPU", SortCPU}, {"THROTTLED", ""}, {"RUNQ p50", ""}, {"RUNQ p99", SortRunq},
		{"IO", SortIO}, {"IOPS", ""}, {"IO p99", ""}, {"RTT p99", SortRTT}, {"RETRANS/s", ""}, {"MEM", ""}, {"OOM", ""}}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
		if c.key != "" && c.key == key {
			names[i] += "▼"
		}
	}
	return strings.Join(names, "\t")
}

// WriteTable writes f for people: a title line, then a column per
// measure and a line per container, at most limit lines of containers
// (0: all). Container, pod and namespace names come from the scrape, that
// is from whoever named the container: they are escaped, which also keeps
// a tab in a name from breaking the columns.
func WriteTable(w io.Writer, f Frame, limit int) error {
	fmt.Fprintf(w, "vigil top  %s  %d containers  every %s  sorted by %s\n",
		f.Time.Local().Format(time.TimeOnly), len(f.Rows), f.Interval, f.Sort)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	rows := f.Rows
	if limit > 0 && len(rows) > limit {
		rows = rows[:limit]
	}
	// names left-aligned, numbers right-aligned: the names are padded
	// to the widest before tabwriter aligns every cell right
	names := make([]string, len(rows))
	width := len("CONTAINER")
	for i, r := range rows {
		names[i] = termsafe.Escape(r.Key.String())
		width = max(width, utf8.RuneCountInString(names[i]))
	}
	pad := func(s string) string { return s + strings.Repeat(" ", width-utf8.RuneCountInString(s)) }
	fmt.Fprintln(tw, pad("CONTAINER")+strings.TrimPrefix(header(f.Sort), "CONTAINER")+"\t")
	for i, r := range rows {
		oom := fmt.Sprintf("%.0f", r.OOMKills)
		if r.OOMKillsRecent > 0 {
			oom += fmt.Sprintf(" (+%.0f)", r.OOMKillsRecent)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			pad(names[i]), percent(r.CPU), percent(r.Throttled), seconds(r.RunqP50), seconds(r.RunqP99),
			size(r.IOBytes, "/s"), number(r.IOOps), seconds(r.IOP99), seconds(r.RTTP99), number(r.Retransmits),
			size(r.Memory, ""), oom)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rows) < len(f.Rows) {
		_, err := fmt.Fprintf(w, "… %d more\n", len(f.Rows)-len(rows))
		return err
	}
	return nil
}

// percent is a share of one core.
func percent(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

// seconds is a latency with the unit that fits it.
func seconds(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v < 1e-6:
		return fmt.Sprintf("%.0fns", v*1e9)
	case v < 1e-3:
		return fmt.Sprintf("%.0fµs", v*1e6)
	case v < 1:
		return fmt.Sprintf("%.1fms", v*1e3)
	}
	return fmt.Sprintf("%.2fs", v)
}

// size is a size in binary units.
func size(v float64, suffix string) string {
	if math.IsNaN(v) {
		return "-"
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f%s%s", v, units[i], suffix)
	}
	return fmt.Sprintf("%.1f%s%s", v, units[i], suffix)
}

func number(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	if v >= 100 || v == 0 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// WriteJSON writes f as one line of JSON (JSON Lines across refreshes).
// Names keep their original bytes; what was not measured is null.
func WriteJSON(w io.Writer, f Frame) error {
	type row struct {
		Key
		CPU            *float64 `json:"cpu_cores"`
		Throttled      *float64 `json:"cpu_throttled"`
		RunqP50        *float64 `json:"runq_p50_seconds"`
		RunqP99        *float64 `json:"runq_p99_seconds"`
		IOBytes        *float64 `json:"io_bytes_per_second"`
		IOOps          *float64 `json:"io_ops_per_second"`
		IOP99          *float64 `json:"io_p99_seconds"`
		RTTP99         *float64 `json:"rtt_p99_seconds"`
		Retransmits    *float64 `json:"retransmits_per_second"`
		Memory         *float64 `json:"memory_bytes"`
		OOMKills       float64  `json:"oom_kills"`
		OOMKillsRecent float64  `json:"oom_kills_interval"`
	}
	out := struct {
		Time       time.Time `json:"time"`
		Interval   float64   `json:"interval_seconds"`
		Sort       SortKey   `json:"sort"`
		Containers []row     `json:"containers"`
	}{Time: f.Time, Interval: f.Interval.Seconds(), Sort: f.Sort, Containers: make([]row, 0, len(f.Rows))}
	for _, r := range f.Rows {
		out.Containers = append(out.Containers, row{Key: r.Key, CPU: num(r.CPU), Throttled: num(r.Throttled),
			RunqP50: num(r.RunqP50), RunqP99: num(r.RunqP99), IOBytes: num(r.IOBytes), IOOps: num(r.IOOps),
			IOP99: num(r.IOP99), RTTP99: num(r.RTTP99), Retransmits: num(r.Retransmits), Memory: num(r.Memory),
			OOMKills: r.OOMKills, OOMKillsRecent: r.OOMKillsRecent})
	}
	return json.NewEncoder(w).Encode(out)
}

// num is v, or nil (null) when it was not measured.
func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
