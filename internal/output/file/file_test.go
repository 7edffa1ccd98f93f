package file

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
)

type testLine struct {
	Writer int    `json:"w"`
	Seq    int    `json:"seq"`
	Pad    string `json:"pad"`
}

// TestRotationUnderConcurrentLoad: writers race each other through many
// rotations; afterwards every line is in exactly one file, whole, and no
// file is bigger than the limit or readable by others.
func TestRotationUnderConcurrentLoad(t *testing.T) {
	const (
		writers = 8
		perW    = 4000
		maxSize = 32 << 10
	)
	dir := t.TempDir()
	path := filepath.Join(dir, "events.json")
	s, err := Open(Options{Path: path, MaxSize: maxSize, MaxBackups: 100000, Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perW {
				// lengths vary so that lines straddle the limit in every way
				b, _ := json.Marshal(testLine{Writer: w, Seq: i, Pad: strings.Repeat("x", (w*131+i*17)%300)})
				if err := s.WriteLine(b); err != nil {
					t.Errorf("write: %v", err)
					return
				}
				if i%500 == 0 {
					if err := s.Flush(); err != nil {
						t.Errorf("flush: %v", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.Rotations() < 20 {
		t.Fatalf("only %d rotations: the load did not exercise rotation", s.Rotations())
	}

	seen := make(map[[2]int]int)
	files := readAll(t, path, maxSize)
	for name, lines := range files {
		for n, line := range lines {
			var l testLine
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("%s line %d is torn: %q: %v", name, n+1, line, err)
			}
			seen[[2]int{l.Writer, l.Seq}]++
		}
	}
	for w := range writers {
		for i := range perW {
			if c := seen[[2]int{w, i}]; c != 1 {
				t.Errorf("line %d/%d found %d times, want once", w, i, c)
			}
		}
	}
	if len(seen) != writers*perW {
		t.Errorf("%d distinct lines, want %d", len(seen), writers*perW)
	}
	t.Logf("%d lines in %d files after %d rotations", writers*perW, len(files), s.Rotations())
}

// TestMaxBackupsKeepsTheNewest: with three backups, only path.1..3 remain
// and together with the live file they hold the last lines, in order.
func TestMaxBackupsKeepsTheNewest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.log")
	s, err := Open(Options{Path: path, MaxSize: 1000, MaxBackups: 3})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for i := range n {
		if err := s.WriteLine(fmt.Appendf(nil, "line %06d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"alerts.log", "alerts.log.1", "alerts.log.2", "alerts.log.3"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("files %v, want %v", names, want)
	}
	// oldest first: .3, .2, .1, then the live file
	var all []string
	for _, name := range []string{"alerts.log.3", "alerts.log.2", "alerts.log.1", "alerts.log"} {
		all = append(all, readLines(t, filepath.Join(dir, name))...)
	}
	last := fmt.Sprintf("line %06d", n-1)
	if all[len(all)-1] != last {
		t.Fatalf("last line %q, want %q", all[len(all)-1], last)
	}
	for i := 1; i < len(all); i++ {
		var a, b int
		fmt.Sscanf(all[i-1], "line %d", &a)
		fmt.Sscanf(all[i], "line %d", &b)
		if b != a+1 {
			t.Fatalf("line %q follows %q: a line was lost between backups", all[i], all[i-1])
		}
	}
}

// TestEventsAsJSONAndText writes real events and alerts in both formats,
// and tightens the mode of a file that existed with a looser one.
func TestEventsAsJSONAndText(t *testing.T) {
	dir := t.TempDir()
	ev := &event.Event{
		Time: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), Kind: event.KindProcessExec, Node: "n1",
		Process: &event.Process{PID: 42, Binary: "/usr/bin/cat", Args: []string{"cat", "/etc/hostname"}},
	}
	al := &event.Alert{Time: ev.Time, Kind: event.KindAlert, Node: "n1", Message: "cat ran",
		Rule: event.RuleRef{Name: "cat_seen", Severity: event.SeverityLow}, Event: ev}
	for _, f := range []output.Format{output.FormatJSON, output.FormatText} {
		path := filepath.Join(dir, "out."+string(f))
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(Options{Path: path, Format: f})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ev); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteAlert(al); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != Mode {
			t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), Mode)
		}
		lines := readLines(t, path)
		if len(lines) != 2 {
			t.Fatalf("%s: %d lines, want 2: %q", f, len(lines), lines)
		}
		if f == output.FormatJSON {
			var got event.Event
			if err := json.Unmarshal([]byte(lines[0]), &got); err != nil || got.Process.PID != 42 {
				t.Errorf("json event line %q: %v", lines[0], err)
			}
			var gotAl event.Alert
			if err := json.Unmarshal([]byte(lines[1]), &gotAl); err != nil || gotAl.Rule.Name != "cat_seen" {
				t.Errorf("json alert line %q: %v", lines[1], err)
			}
		} else if !strings.Contains(lines[0], "/usr/bin/cat /etc/hostname") || !strings.Contains(lines[1], "cat_seen: cat ran") {
			t.Errorf("text lines %q", lines)
		}
	}
}

// readAll returns the lines of the live file and every backup, checking
// sizes and modes on the way.
func readAll(t *testing.T, path string, maxSize int64) map[string][]string {
	t.Helper()
	matches, err := filepath.Glob(path + "*")
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]string)
	for _, name := range matches {
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != Mode {
			t.Errorf("%s: mode %v, want %v", name, st.Mode().Perm(), Mode)
		}
		if strings.HasSuffix(name, ".tmp") {
			t.Errorf("%s: a temporary file was left behind", name)
		}
		lines := readLines(t, name)
		var size int64
		for _, l := range lines {
			size += int64(len(l)) + 1
		}
		if size > maxSize {
			t.Errorf("%s holds %d bytes, more than the %d limit", name, size, maxSize)
		}
		out[name] = lines
	}
	return out
}

func readLines(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r = zr
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		t.Fatalf("%s does not end with a whole line", name)
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// TestNoBackupsStartsOverInPlace: with max_backups 0 a full file starts
// over where it is: no backup appears, the newest lines are in the file,
// and it is the same file (a failed open can never strand the writer on a
// deleted one).
func TestNoBackupsStartsOverInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.json")
	s, err := Open(Options{Path: path, MaxSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := s.WriteLine([]byte(fmt.Sprintf(`{"line":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil || !os.SameFile(before, after) {
		t.Fatalf("the file was replaced: %v", err)
	}
	if _, err := os.Stat(path + ".1"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a backup exists with max_backups 0: %v", err)
	}
	raw, _ := os.ReadFile(path)
	if len(raw) > 200 || !strings.HasSuffix(string(raw), "{\"line\":49}\n") {
		t.Errorf("file after rotations (%d bytes): %q", len(raw), raw)
	}
}
