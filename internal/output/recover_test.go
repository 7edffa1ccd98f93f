package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// failingWriter fails the writes its plan names: "half" takes half the
// bytes and fails as a full disk does, "none" takes nothing.
type failingWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	plan map[int]string
	n    int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	switch w.plan[w.n] {
	case "half":
		w.buf.Write(p[:len(p)/2])
		return len(p) / 2, syscall.ENOSPC
	case "none":
		return 0, syscall.ENOSPC
	}
	return w.buf.Write(p)
}

func (w *failingWriter) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Split(strings.TrimSuffix(w.buf.String(), "\n"), "\n")
}

// wholeEvents counts the lines that are whole events, and returns the
// others.
func wholeEvents(t *testing.T, lines []string) (pids map[uint32]int, broken []string) {
	t.Helper()
	pids = map[uint32]int{}
	for _, l := range lines {
		var ev event.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Process == nil {
			broken = append(broken, l)
			continue
		}
		pids[ev.Process.PID]++
	}
	return pids, broken
}

// TestStreamSurvivesWriteErrors: a stream's writer fails part way through
// one write and entirely on the next, then recovers. The stream keeps
// writing, says how many lines each failure lost, and the line the first
// failure tore is ended, so that every later line is whole.
func TestStreamSurvivesWriteErrors(t *testing.T) {
	w := &failingWriter{plan: map[int]string{2: "half", 3: "none"}}
	s := NewStream(w, FormatJSON)
	const groups, per = 5, 9
	lost := 0
	for g := range groups {
		for j := range per {
			if err := s.Write(exec(g*per + j)); err != nil {
				t.Fatal(err)
			}
		}
		err := s.Flush()
		var rec *RecoveredError
		if g == 1 || g == 2 {
			if !errors.As(err, &rec) || !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("flush %d: %v, want a recovered ENOSPC", g, err)
			}
			lost += rec.Lost
		} else if err != nil {
			t.Fatalf("flush %d: %v", g, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	pids, broken := wholeEvents(t, w.lines())
	if len(broken) != 1 {
		t.Fatalf("%d broken lines, want the one torn fragment: %q", len(broken), broken)
	}
	got := 0
	for pid, n := range pids {
		if n != 1 {
			t.Errorf("pid %d written %d times", pid, n)
		}
		got += n
	}
	if got+lost != groups*per || lost < per {
		t.Errorf("%d whole lines + %d reported lost, want %d in all, at least %d lost", got, lost, groups*per, per)
	}
	for _, pid := range []uint32{0, 3 * per, groups*per - 1} {
		if pids[pid] != 1 {
			t.Errorf("event %d, written while the writer worked, is missing", pid)
		}
	}
}

// TestFanoutCountsWhatASinkLost: behind the fan-out, the same failures
// show in the output's stats: every event is either delivered (a whole
// line at the far end) or counted as dropped by the sink, and the output
// is healthy again once writes succeed.
func TestFanoutCountsWhatASinkLost(t *testing.T) {
	w := &failingWriter{plan: map[int]string{2: "half", 3: "none", 4: "none"}}
	f, err := NewFanout([]Route{{Name: "out", Type: "stdout", Sink: NewStream(w, FormatJSON), Filter: All()}}, FanoutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for i := range n {
		f.Write(exec(i))
		if i%100 == 99 {
			f.Flush()
			// one batch at a time, so that the writer's failures fall
			// between batches that succeed
			waitStats(t, f, func(s RouteStats) bool { return s.QueueDepth == 0 && s.Written == uint64(i+1) })
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st := f.Stats()[0]
	pids, broken := wholeEvents(t, w.lines())
	if len(broken) > 1 {
		t.Errorf("%d broken lines, want at most the torn one", len(broken))
	}
	if st.Written != n || st.Delivered != uint64(len(pids)) || st.Delivered+st.SinkDropped != n || st.SinkDropped == 0 {
		t.Errorf("stats %+v with %d whole lines out: want written %d = delivered (the whole lines) + sink dropped", st, len(pids), n)
	}
	if st.Errors != 3 || !st.Healthy {
		t.Errorf("stats %+v: want 3 errors, healthy again", st)
	}
}

func TestJoinRecovered(t *testing.T) {
	a, b := &RecoveredError{Lost: 2, Err: errors.New("a")}, &RecoveredError{Err: errors.New("b")}
	err := JoinRecovered(nil, a, nil, b)
	var rec *RecoveredError
	if r, ok := err.(*RecoveredError); !ok || r.Lost != 2 || !strings.Contains(r.Error(), "a\nb") {
		t.Errorf("joined %v", err)
	}
	plain := errors.New("closed")
	err = JoinRecovered(a, plain)
	if _, ok := err.(*RecoveredError); ok || !errors.Is(err, plain) || !errors.As(err, &rec) || rec.Lost != 2 {
		t.Errorf("joined with a plain error: %v", err)
	}
	if JoinRecovered(nil, nil) != nil {
		t.Error("nothing joined is not nil")
	}
}
