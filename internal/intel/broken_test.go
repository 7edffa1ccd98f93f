package intel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// logRecords is a slog handler that keeps what it is given.
type logRecords struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r)
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }

// attrs is the last warning's attributes.
func (l *logRecords) lastWarning() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]string{}
	for i := len(l.recs) - 1; i >= 0; i-- {
		if l.recs[i].Level == slog.LevelWarn {
			l.recs[i].Attrs(func(a slog.Attr) bool { out[a.Key] = a.Value.String(); return true })
			break
		}
	}
	return out
}

// TestBrokenRefreshKeepsLastGoodSet: a server error, malformed JSON
// (manifest and event), a truncated body, a feed 100 times larger, an
// unreachable server each keep the last good set, log the reason with the
// source and position, and count it under its reason.
func TestBrokenRefreshKeepsLastGoodSet(t *testing.T) {
	fs := newFileServer(t)
	events := feedEvents()
	fs.putFeed(events...)
	logs := &logRecords{}
	m := newTestManager(t, Options{Logger: slog.New(logs)}, SourceConfig{Name: "feed", Kind: KindMISPFeed, URL: fs.srv.URL + "/feed"})
	mustRefresh(t, m, "feed")
	good := m.Current()
	bad := sha256Of("evil binary")
	manifest := "/feed/manifest.json"
	event0 := "/feed/" + events[0].UUID + ".json"

	// a big feed: 100 × the indicators in force, and one more
	var big []testEvent
	for i := range 10 {
		e := testEvent{UUID: uuidN("f", i), Info: "big", Timestamp: 1}
		for j := range 101 * good.Len() / 10 {
			e.Attrs = append(e.Attrs, attr{UUID: uuidN("9", i*10000+j), Type: "ip-dst", Value: fmt.Sprintf("10.%d.%d.%d", i, j/256, j%256), ToIDs: true})
		}
		big = append(big, e)
	}

	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + dead.Addr().String()
	dead.Close()

	cases := []struct {
		name, reason, where string
		breakIt, mend       func()
	}{
		{name: "server error", reason: ReasonHTTP, where: "manifest.json",
			breakIt: func() {
				fs.handle(manifest, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "oops", http.StatusInternalServerError) })
			},
			mend: func() { fs.handle(manifest, nil) }},
		{name: "malformed manifest", reason: ReasonMalformed, where: "manifest.json JSON offset 9 (line 2)",
			breakIt: func() { fs.put(manifest, []byte("{\n\"x\": nope}")) },
			mend:    func() { fs.putFeed(events...) }},
		{name: "malformed event", reason: ReasonMalformed, where: events[0].UUID + ".json",
			breakIt: func() {
				e := events[0]
				e.Timestamp++
				fs.putFeed(e, events[1])
				fs.put(event0, []byte(`{"Event": {"uuid": "x", "Attribute": [{"type": "ip-dst", "value": "not an address", "to_ids": true}]}}`))
			},
			mend: func() { fs.putFeed(events...) }},
		{name: "truncated body", reason: ReasonTruncated, where: "manifest.json",
			breakIt: func() {
				fs.handle(manifest, func(w http.ResponseWriter, _ *http.Request) {
					body := manifestJSON(events...)
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
					_, _ = w.Write(body[:len(body)/2])
				})
			},
			mend: func() { fs.handle(manifest, nil) }},
		{name: "JSON cut short", reason: ReasonTruncated, where: "manifest.json JSON offset",
			breakIt: func() { fs.put(manifest, manifestJSON(events...)[:40]) },
			mend:    func() { fs.putFeed(events...) }},
		{name: "100 times larger", reason: ReasonGrowth,
			breakIt: func() { fs.putFeed(big...) },
			mend:    func() { fs.putFeed(events...) }},
	}
	for n, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.breakIt()
			err := m.Refresh(context.Background(), "feed")
			var re *RefreshError
			if !errors.As(err, &re) || re.Reason != tc.reason || !strings.Contains(re.Where, tc.where) {
				t.Fatalf("refresh: %v (want reason %s at %q)", err, tc.reason, tc.where)
			}
			if m.Current() != good || len(m.Current().Hash(TypeSHA256, bad)) != 1 {
				t.Errorf("the set changed")
			}
			st := statusOf(t, m, "feed")
			if st.FailuresByReason[tc.reason] == 0 || st.Failures != uint64(n+1) || st.LastError != err.Error() {
				t.Errorf("status %+v", st)
			}
			w := logs.lastWarning()
			if w["source"] != "feed" || w["reason"] != tc.reason || !strings.Contains(w["error"], tc.where) {
				t.Errorf("logged %v", w)
			}
			tc.mend()
			mustRefresh(t, m, "feed")
			if st := statusOf(t, m, "feed"); st.LastError != "" {
				t.Errorf("after mending: %q", st.LastError)
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		m := newTestManager(t, Options{Logger: slog.New(logs)},
			SourceConfig{Name: "a", Kind: KindMISPFeed, URL: fs.srv.URL + "/feed"},
			SourceConfig{Name: "b", Kind: KindList, URL: fs.srv.URL + "/feed/manifest.json"})
		mustRefresh(t, m, "")
		before := m.Current()
		m.sources[0].cfg.URL = deadURL
		m.sources[0].loader.(*feedLoader).cfg.URL = deadURL
		err := m.Refresh(context.Background(), "a")
		var re *RefreshError
		if !errors.As(err, &re) || re.Reason != ReasonUnreachable || !strings.Contains(err.Error(), dead.Addr().String()) {
			t.Fatalf("unreachable: %v", err)
		}
		if m.Current() != before || len(m.Current().Hash(TypeSHA256, bad)) != 1 {
			t.Errorf("the set changed")
		}
	})
}

// TestIndicatorCap: a source over Options.MaxIndicators is refused.
func TestIndicatorCap(t *testing.T) {
	fs := newFileServer(t)
	fs.putFeed(feedEvents()...)
	m := newTestManager(t, Options{MaxIndicators: 5}, SourceConfig{Name: "f", Kind: KindMISPFeed, URL: fs.srv.URL + "/feed"})
	err := m.Refresh(context.Background(), "f")
	var re *RefreshError
	if !errors.As(err, &re) || re.Reason != ReasonTooMany || m.Current().Len() != 0 {
		t.Errorf("over the cap: %v, %d in force", err, m.Current().Len())
	}
}
