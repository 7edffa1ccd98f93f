package top

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// syncBuffer is the terminal: Run writes, the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLiveViewRedrawsAndSorts runs the live view against a real HTTP
// server serving the recorded scrapes, the first then the second:
// frames are drawn from the cursor's home with every line cleared, cut
// to the terminal's height; r sorts by run-queue latency, q quits.
func TestLiveViewRedrawsAndSorts(t *testing.T) {
	var pages [2][]byte
	for i, name := range []string{"testdata/scrape-0.prom", "testdata/scrape-1.prom"} {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		pages[i] = raw
	}
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write(pages[min(served.Add(1)-1, 1)]) //nolint:errcheck // the client's failure is the test's
	}))
	defer srv.Close()

	var out syncBuffer
	keys := make(chan byte)
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Options{URL: srv.URL, Interval: 20 * time.Millisecond, Sort: SortCPU,
			Live: true, Height: func() int { return 6 }, Keys: keys, Out: &out, Client: srv.Client()})
	}()
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(time.Minute) // a bound on a hung Run only
		for !strings.Contains(out.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q within a minute:\n%s", what, out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("sorted by cpu")
	keys <- 'r'
	waitFor("sorted by runq")
	keys <- 'q'
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	frames := strings.Split(out.String(), home)[1:]
	if len(frames) < 2 {
		t.Fatalf("%d frames", len(frames))
	}
	last := frames[len(frames)-1]
	for _, f := range frames {
		if !strings.HasSuffix(f, clearEnd) {
			t.Errorf("a frame does not clear the rest of the screen: %q", f)
		}
		for _, line := range strings.Split(f, "\n")[:strings.Count(f, "\n")] {
			if !strings.HasSuffix(line, clearLine) {
				t.Errorf("line %q is not cleared to its end", line)
			}
		}
		// only the view's own sequences: the scrape's ESC and BEL are escaped
		rest := strings.NewReplacer(clearEnd, "", clearLine, "").Replace(f)
		if strings.ContainsAny(rest, "\x1b\a") {
			t.Errorf("raw control characters in a frame: %q", f)
		}
	}
	// 6 lines: title, header, 2 containers, "… 2 more", the prompt
	if n := strings.Count(last, "\n"); n != 5 || !strings.Contains(last, "… 2 more") {
		t.Errorf("the last frame has %d lines, want 5 and the prompt:\n%s", n, last)
	}
	if !strings.Contains(last, "sorted by runq") || strings.Index(last, "db") > strings.Index(last, "shop/web-1/web") {
		t.Errorf("after r, db (p99 3.9ms) should come before web (2.0ms):\n%s", last)
	}
}
