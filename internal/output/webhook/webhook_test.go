package webhook

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
)

// receiver is a real HTTP server on loopback that records the alerts it
// accepted, and answers as the test tells it to.
type receiver struct {
	srv *httptest.Server
	// answer returns the status for the n-th request (from 1); 0 closes
	// the connection without an answer.
	answer func(n int64, r *http.Request) int
	n      atomic.Int64
	mu     sync.Mutex
	got    map[string]int // alert message → times accepted
	bodies [][]byte
}

func newReceiver(t *testing.T, tls bool, answer func(n int64, r *http.Request) int) *receiver {
	t.Helper()
	rc := &receiver{answer: answer, got: make(map[string]int)}
	h := http.HandlerFunc(rc.serve)
	if tls {
		rc.srv = httptest.NewTLSServer(h)
	} else {
		rc.srv = httptest.NewServer(h)
	}
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	n := rc.n.Add(1)
	body, _ := io.ReadAll(r.Body)
	code := rc.answer(n, r)
	if code == 0 {
		// fail below HTTP: the client sees a broken connection
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		code = http.StatusBadGateway
	}
	if code == http.StatusOK {
		rc.record(body)
	}
	w.WriteHeader(code)
}

// record takes a vigil array or a single falco object.
func (rc *receiver) record(body []byte) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.bodies = append(rc.bodies, body)
	var items []struct {
		Message string `json:"message"`
		Output  string `json:"output"`
		Rule    string `json:"rule"`
	}
	if len(body) > 0 && body[0] == '{' {
		var one struct {
			Rule string `json:"rule"`
		}
		json.Unmarshal(body, &one)
		rc.got[one.Rule]++
		return
	}
	json.Unmarshal(body, &items)
	for _, it := range items {
		rc.got[it.Message]++
	}
}

func (rc *receiver) accepted() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]int, len(rc.got))
	for k, v := range rc.got {
		out[k] = v
	}
	return out
}

func alert(i int) *event.Alert {
	ev := &event.Event{Time: time.Now(), Kind: event.KindProcessExec, Node: "n1",
		Process: &event.Process{PID: uint32(1000 + i), Comm: "sh", Binary: "/bin/sh", Args: []string{"sh", "-c", "id"}}}
	return &event.Alert{Time: ev.Time, Kind: event.KindAlert, Node: "n1", Message: fmt.Sprintf("alert-%d", i),
		Rule: event.RuleRef{Name: "shell", Severity: event.SeverityHigh}, Action: event.ActionAlert, Event: ev}
}

// fanout puts the webhook behind a fan-out, as the agent does.
func fanout(t *testing.T, s *Sink, queue int) *output.Fanout {
	t.Helper()
	f, err := output.NewFanout([]output.Route{{Name: "hook", Type: "webhook", Sink: s, Filter: output.All(), Queue: queue}},
		output.FanoutOptions{DrainTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestRetriesUntilTheServerRecovers: 500 three times, then 200: every
// alert arrives exactly once, and the retries are counted.
func TestRetriesUntilTheServerRecovers(t *testing.T) {
	rc := newReceiver(t, false, func(n int64, _ *http.Request) int {
		if n <= 3 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	s, err := New(Options{URL: rc.srv.URL, BatchSize: 10, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f := fanout(t, s, 1000)
	const n = 250
	for i := range n {
		f.WriteAlert(alert(i))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, rc, n)
	st := f.Stats()[0]
	if st.Retries != 3 || st.Delivered != n || st.SinkDropped != 0 || st.QueueDropped != 0 {
		t.Errorf("stats %+v: want 3 retries, %d delivered, nothing dropped", st, n)
	}
	if !st.Healthy {
		t.Errorf("not healthy after recovering: %+v", st)
	}
}

// TestFlappingServer: the server fails one request in three, half of them
// by closing the connection; within the queue bound nothing is lost.
func TestFlappingServer(t *testing.T) {
	rc := newReceiver(t, false, func(n int64, _ *http.Request) int {
		switch n % 6 {
		case 1:
			return http.StatusServiceUnavailable
		case 4:
			return 0
		}
		return http.StatusOK
	})
	s, err := New(Options{URL: rc.srv.URL, BatchSize: 7, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f := fanout(t, s, 5000)
	const n = 2000
	for i := range n {
		f.WriteAlert(alert(i))
		if i%100 == 0 {
			time.Sleep(time.Millisecond) // let batches of every size form
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, rc, n)
	st := f.Stats()[0]
	if st.Retries == 0 || st.QueueDropped != 0 || st.SinkDropped != 0 {
		t.Errorf("stats %+v: want retries and no drops", st)
	}
	t.Logf("%d requests, %d retries", rc.n.Load(), st.Retries)
}

// TestOverflowIsCountedNotWaitedFor: while the server hangs, the pipeline
// side keeps going and what does not fit in the queue is counted.
func TestOverflowIsCountedNotWaitedFor(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, false, func(_ int64, _ *http.Request) int {
		<-release
		return http.StatusOK
	})
	s, err := New(Options{URL: rc.srv.URL, BatchSize: 5, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	const queue, n = 20, 500
	f := fanout(t, s, queue)
	for i := range n {
		f.WriteAlert(alert(i)) // returns although the server answers nothing
	}
	st := f.Stats()[0]
	if st.QueueDropped == 0 {
		t.Fatalf("nothing dropped with %d alerts for a queue of %d and a hung server", n, queue)
	}
	close(release)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st = f.Stats()[0]
	got := 0
	for _, c := range rc.accepted() {
		got += c
	}
	if uint64(got) != st.Delivered || st.Delivered+st.QueueDropped+st.SinkDropped != n {
		t.Errorf("received %d; stats %+v: delivered + dropped should be %d", got, st, n)
	}
	if st.Delivered < queue {
		t.Errorf("delivered %d, fewer than the queue holds (%d)", st.Delivered, queue)
	}
}

// TestTLSWithTestCA trusts the test server's CA from a file, and refuses
// the same server without it.
func TestTLSWithTestCA(t *testing.T) {
	rc := newReceiver(t, true, func(int64, *http.Request) int { return http.StatusOK })
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rc.srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{URL: rc.srv.URL, TLS: TLSOptions{CAFile: ca}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteAlert(alert(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("with the CA: %v", err)
	}
	untrusted, err := New(Options{URL: rc.srv.URL, MaxRetries: 1, MinBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	untrusted.WriteAlert(alert(2))
	if err := untrusted.Close(); err == nil {
		t.Fatal("a server signed by an unknown CA was trusted")
	}
	if r := untrusted.Report(); r.Dropped != 1 || r.LastError == "" {
		t.Errorf("report %+v: want the alert dropped with the error", r)
	}
	if got := rc.accepted(); got["alert-1"] != 1 || got["alert-2"] != 0 {
		t.Errorf("accepted %v", got)
	}
}

// TestAuthorization: bearer and basic headers reach the server; a 401 is
// not retried (it would never succeed) but dropped and counted.
func TestAuthorization(t *testing.T) {
	rc := newReceiver(t, false, func(_ int64, r *http.Request) int {
		if r.Header.Get("Authorization") == "Bearer s3cret" {
			return http.StatusOK
		}
		if u, p, ok := r.BasicAuth(); ok && u == "vigil" && p == "pw" {
			return http.StatusOK
		}
		return http.StatusUnauthorized
	})
	for _, tc := range []struct {
		name string
		opts Options
		ok   bool
	}{
		{"bearer", Options{BearerToken: "s3cret"}, true},
		{"basic", Options{Username: "vigil", Password: "pw"}, true},
		{"wrong", Options{BearerToken: "nope"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.URL = rc.srv.URL
			s, err := New(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			s.WriteAlert(alert(1))
			err = s.Close()
			if (err == nil) != tc.ok {
				t.Fatalf("close: %v, want success %v", err, tc.ok)
			}
			if r := s.Report(); !tc.ok && (r.Retries != 0 || r.Dropped != 1) {
				t.Errorf("report %+v: a 401 should be dropped without retries", r)
			}
		})
	}
}

// TestInterruptedAtShutdown: a server that never recovers cannot hold the
// agent's exit; what was held is counted as dropped.
func TestInterruptedAtShutdown(t *testing.T) {
	rc := newReceiver(t, false, func(int64, *http.Request) int { return http.StatusInternalServerError })
	s, err := New(Options{URL: rc.srv.URL, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f, err := output.NewFanout([]output.Route{{Name: "hook", Sink: s, Filter: output.All()}},
		output.FanoutOptions{DrainTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		f.WriteAlert(alert(i))
	}
	f.Close()
	st := f.Stats()[0]
	if st.Delivered != 0 || st.SinkDropped != 3 || st.Healthy {
		t.Errorf("stats %+v: want 3 dropped, unhealthy", st)
	}
}

func checkExactlyOnce(t *testing.T, rc *receiver, n int) {
	t.Helper()
	got := rc.accepted()
	for i := range n {
		if c := got[fmt.Sprintf("alert-%d", i)]; c != 1 {
			t.Errorf("alert-%d accepted %d times, want once", i, c)
		}
	}
	if len(got) != n {
		t.Errorf("%d distinct alerts accepted, want %d", len(got), n)
	}
}
