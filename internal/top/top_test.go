package top

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// fixtures reads the two recorded scrapes, 5 s apart (testdata/README).
func fixtures(t *testing.T) (Snapshot, Snapshot) {
	t.Helper()
	t0 := time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC)
	var snaps []Snapshot
	for i, name := range []string{"testdata/scrape-0.prom", "testdata/scrape-1.prom"} {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Parse(f, t0.Add(time.Duration(i)*5*time.Second))
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		snaps = append(snaps, s)
	}
	return snaps[0], snaps[1]
}

func near(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

var (
	web  = Key{Namespace: "shop", Pod: "web-1", Container: "web", Cgroup: "/kubepods/burstable/pod-web-1/cri-containerd-0a1b"}
	db   = Key{Container: "db", Cgroup: "/system.slice/docker-db.scope"}
	host = Key{Cgroup: "/system.slice/cron.service"}
	evil = Key{Container: "\x1b]0;evil\a", Cgroup: "/evil.slice"}
)

// TestRowsFromRecordedScrapes: rates are the counters' deltas over the
// 5 s between the scrapes, summed over read and write; quantiles come
// from the buckets' deltas, interpolated inside the bucket as
// histogram_quantile does.
func TestRowsFromRecordedScrapes(t *testing.T) {
	s0, s1 := fixtures(t)
	if len(s1.Containers) != 4 {
		t.Fatalf("%d containers in the scrape, want web, db, the host and the escaped one: %v", len(s1.Containers), s1.Containers)
	}
	rows := map[Key]Row{}
	for _, r := range Rows(s0, s1) {
		rows[r.Key] = r
	}
	nan := math.NaN()
	for _, c := range []struct {
		key  Key
		name string
		got  func(Row) float64
		want float64
	}{
		{web, "cpu", func(r Row) float64 { return r.CPU }, 1.0},
		{db, "cpu", func(r Row) float64 { return r.CPU }, 0.1},
		{host, "cpu", func(r Row) float64 { return r.CPU }, 0.8},
		{evil, "cpu", func(r Row) float64 { return r.CPU }, 0.1},
		{web, "throttled", func(r Row) float64 { return r.Throttled }, 0.1},
		// web: 100 new samples, all in (1ms, 2ms]: p50 at the middle
		{web, "runq p50", func(r Row) float64 { return r.RunqP50 }, 0.0015},
		{web, "runq p99", func(r Row) float64 { return r.RunqP99 }, 0.00199},
		// db: 50 in (0, 1ms], 10 in (2ms, 4ms]
		{db, "runq p50", func(r Row) float64 { return r.RunqP50 }, 0.0006},
		{db, "runq p99", func(r Row) float64 { return r.RunqP99 }, 0.002 + 0.002*9.4/10},
		{host, "runq p99", func(r Row) float64 { return r.RunqP99 }, nan},
		{web, "io", func(r Row) float64 { return r.IOBytes }, 1 << 20},
		{db, "io", func(r Row) float64 { return r.IOBytes }, 10 << 20},
		{db, "iops", func(r Row) float64 { return r.IOOps }, 100},
		// db: 500 new I/Os, all in (100µs, 1ms]
		{db, "io p99", func(r Row) float64 { return r.IOP99 }, 0.0001 + 0.0009*0.99},
		{web, "io p99", func(r Row) float64 { return r.IOP99 }, nan},
		{web, "rtt p99", func(r Row) float64 { return r.RTTP99 }, 0.0001 + 0.0001*0.99},
		{db, "rtt p99", func(r Row) float64 { return r.RTTP99 }, nan},
		{web, "retransmits", func(r Row) float64 { return r.Retransmits }, 2},
		{web, "memory", func(r Row) float64 { return r.Memory }, 64 << 20},
		{db, "memory", func(r Row) float64 { return r.Memory }, nan},
		{db, "oom kills", func(r Row) float64 { return r.OOMKills }, 3},
		{db, "oom kills in the interval", func(r Row) float64 { return r.OOMKillsRecent }, 2},
	} {
		r, ok := rows[c.key]
		if !ok {
			t.Errorf("no row for %q", c.key)
			continue
		}
		if got := c.got(r); !near(got, c.want) {
			t.Errorf("%s %s = %v, want %v", c.key, c.name, got, c.want)
		}
	}
}

func keys(rows []Row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Key.String())
	}
	return out
}

// TestSortOrders: highest first, nothing measured last, ties by name.
func TestSortOrders(t *testing.T) {
	s0, s1 := fixtures(t)
	for key, want := range map[SortKey]string{
		SortCPU:  "shop/web-1/web /system.slice/cron.service \x1b]0;evil\a db",
		SortRunq: "db shop/web-1/web \x1b]0;evil\a /system.slice/cron.service",
		SortIO:   "db shop/web-1/web \x1b]0;evil\a /system.slice/cron.service",
		SortRTT:  "shop/web-1/web \x1b]0;evil\a /system.slice/cron.service db",
	} {
		rows := Rows(s0, s1)
		Sort(rows, key)
		if got := strings.Join(keys(rows), " "); got != want {
			t.Errorf("sorted by %s: %q, want %q", key, got, want)
		}
	}
	if _, err := ParseSortKey("mem"); err == nil || !strings.Contains(err.Error(), "cpu, runq, io, rtt") {
		t.Errorf("ParseSortKey(mem) = %v, want the valid keys named", err)
	}
}

// TestCounterResetStartsFromZero: an agent restarted between scrapes
// counts from zero again; its new counts are the interval's, never
// negative.
func TestCounterResetStartsFromZero(t *testing.T) {
	_, s1 := fixtures(t)
	s0, _ := fixtures(t)
	after := Snapshot{Time: s1.Time.Add(2 * time.Second), Containers: s0.Containers}
	for _, r := range Rows(s1, after) {
		if r.CPU < 0 || r.IOBytes < 0 || r.OOMKillsRecent < 0 || r.RunqP99 < 0 {
			t.Errorf("%q after a reset: %+v", r.Key, r)
		}
		if r.Key == web && !near(r.CPU, 5) { // 10 s on CPU counted anew over 2 s
			t.Errorf("web after a reset: cpu %v, want 5", r.CPU)
		}
	}
}

// TestQuantileEdges: an empty histogram has no quantile; a rank in the
// +Inf bucket is the highest finite bound.
func TestQuantileEdges(t *testing.T) {
	if q := (Histogram{}).Quantile(0.5); !math.IsNaN(q) {
		t.Errorf("empty: %v", q)
	}
	h := Histogram{Bounds: []float64{1, 2, math.Inf(1)}, Counts: []float64{0, 1, 10}, Count: 10}
	if q := h.Quantile(0.99); q != 2 {
		t.Errorf("in +Inf: %v, want 2", q)
	}
	// merging series with other bounds keeps the counts cumulative
	var m Histogram
	m.Bounds, m.Counts, m.Count = []float64{1, 4, math.Inf(1)}, []float64{2, 3, 3}, 3
	d := Delta(Histogram{}, m)
	if d.Quantile(0.5) > 1 {
		t.Errorf("p50 of 2 of 3 at or below 1: %v", d.Quantile(0.5))
	}
}

// TestTableEscapesNames: a container named with an OSC sequence is shown
// escaped, and the table still has its columns.
func TestTableEscapesNames(t *testing.T) {
	s0, s1 := fixtures(t)
	rows := Rows(s0, s1)
	Sort(rows, SortCPU)
	var b bytes.Buffer
	if err := WriteTable(&b, Frame{Time: s1.Time, Interval: 5 * time.Second, Sort: SortCPU, Rows: rows}, 3); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\a") {
		t.Fatalf("raw control characters reach the terminal:\n%q", out)
	}
	for _, want := range []string{`\x1b]0;evil\a`, "CPU▼", "shop/web-1/web", "100.0%", "1.5ms", "2.0ms", "1.0MiB/s", "64.0MiB", "… 1 more"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, " db ") {
		t.Errorf("3 rows at most, db is fourth:\n%s", out)
	}
	// every data line has as many columns as the header
	lines := strings.Split(strings.TrimSpace(out), "\n")
	head := len(strings.Fields(lines[1]))
	if strings.Index(lines[1], "CONTAINER") != strings.Index(lines[2], "shop/web-1/web") {
		t.Errorf("names are not left-aligned:\n%s", out)
	}
	if head != 16 { // RUNQ p50, RUNQ p99, IO p99, RTT p99 are two words each
		t.Errorf("header %q: %d words", lines[1], head)
	}
}

// TestJSONKeepsNamesAndNulls: JSON keeps the original bytes of names
// and writes what was not measured as null.
func TestJSONKeepsNamesAndNulls(t *testing.T) {
	s0, s1 := fixtures(t)
	rows := Rows(s0, s1)
	Sort(rows, SortIO)
	var b bytes.Buffer
	if err := WriteJSON(&b, Frame{Time: s1.Time, Interval: 5 * time.Second, Sort: SortIO, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Sort       string
		Containers []map[string]any
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if got.Sort != "io" || len(got.Containers) != 4 {
		t.Fatalf("%s", b.String())
	}
	first := got.Containers[0]
	if first["container"] != "db" || first["io_bytes_per_second"] != float64(10<<20) || first["rtt_p99_seconds"] != nil {
		t.Errorf("first row %v", first)
	}
	names := map[any]bool{}
	for _, c := range got.Containers {
		names[c["container"]] = true
	}
	if !names["\x1b]0;evil\a"] {
		t.Errorf("the escaped container's name is not kept as it was: %v", names)
	}
}
