package intel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
)

// fileServer serves a directory of documents over HTTP with ETags and
// answers If-None-Match with 304; it counts the requests per path.
type fileServer struct {
	mu       sync.Mutex
	files    map[string][]byte
	hits     map[string]int
	notMod   map[string]int
	override map[string]http.HandlerFunc
	srv      *httptest.Server
	// inflight and maxInflight count requests being served at once
	inflight, maxInflight int
}

func newFileServer(t *testing.T) *fileServer {
	fs := &fileServer{files: map[string][]byte{}, hits: map[string]int{}, notMod: map[string]int{}, override: map[string]http.HandlerFunc{}}
	fs.srv = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(fs.srv.Close)
	return fs
}

func (fs *fileServer) serve(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	fs.hits[r.URL.Path]++
	body, ok := fs.files[r.URL.Path]
	h := fs.override[r.URL.Path]
	fs.inflight++
	fs.maxInflight = max(fs.maxInflight, fs.inflight)
	fs.mu.Unlock()
	defer func() {
		fs.mu.Lock()
		fs.inflight--
		fs.mu.Unlock()
	}()
	if h != nil {
		h(w, r)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		fs.mu.Lock()
		fs.notMod[r.URL.Path]++
		fs.mu.Unlock()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (fs *fileServer) put(path string, body []byte) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.files[path] = body
}

func (fs *fileServer) remove(path string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	delete(fs.files, path)
}

func (fs *fileServer) handle(path string, h http.HandlerFunc) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if h == nil {
		delete(fs.override, path)
	} else {
		fs.override[path] = h
	}
}

func (fs *fileServer) count(path string) (hits, notModified int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.hits[path], fs.notMod[path]
}

// attr is a MISP attribute as a feed's event file holds it.
type attr struct {
	UUID      string         `json:"uuid"`
	Type      string         `json:"type"`
	Category  string         `json:"category"`
	Value     string         `json:"value"`
	ToIDs     bool           `json:"to_ids"`
	Deleted   bool           `json:"deleted,omitempty"`
	Timestamp string         `json:"timestamp"`
	Tag       []mispTagOut   `json:"Tag,omitempty"`
	Event     map[string]any `json:"Event,omitempty"`
}

type mispTagOut struct {
	Name string `json:"name"`
}

// testEvent is one event of a test feed.
type testEvent struct {
	UUID      string
	Info      string
	Timestamp int64
	Tags      []string
	Attrs     []attr
	Objects   [][]attr
}

// eventJSON renders an event the way MISP's feed generator does.
func eventJSON(e testEvent) []byte {
	tags := []map[string]any{}
	for _, t := range e.Tags {
		tags = append(tags, map[string]any{"colour": "#004646", "exportable": true, "name": t})
	}
	objs := []map[string]any{}
	for i, o := range e.Objects {
		objs = append(objs, map[string]any{"name": "file", "meta-category": "file", "uuid": fmt.Sprintf("%08d-0000-4000-8000-000000000000", i),
			"template_version": "24", "timestamp": fmt.Sprint(e.Timestamp), "Attribute": o})
	}
	attrs := e.Attrs
	if attrs == nil {
		attrs = []attr{}
	}
	ev := map[string]any{"Event": map[string]any{
		"uuid": e.UUID, "info": e.Info, "date": "2026-11-30", "analysis": "2", "threat_level_id": "1",
		"published": true, "timestamp": fmt.Sprint(e.Timestamp), "publish_timestamp": fmt.Sprint(e.Timestamp),
		"Orgc": map[string]any{"name": "CIRCL", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
		"Tag":  tags, "Attribute": attrs, "Object": objs,
		"Galaxy": []map[string]any{{"type": "mitre-attack-pattern", "name": "Attack Pattern", "GalaxyCluster": []map[string]any{{
			"value": "Unix Shell - T1059.004", "tag_name": `misp-galaxy:mitre-attack-pattern="Unix Shell - T1059.004"`,
			"meta": map[string]any{"external_id": []string{"T1059.004"}},
		}}}},
	}}
	b, _ := json.Marshal(ev)
	return b
}

// manifestJSON is a feed's manifest.json for events.
func manifestJSON(events ...testEvent) []byte {
	m := map[string]any{}
	for _, e := range events {
		tags := []map[string]any{}
		for _, t := range e.Tags {
			tags = append(tags, map[string]any{"colour": "#004646", "name": t})
		}
		m[e.UUID] = map[string]any{"Orgc": map[string]any{"name": "CIRCL", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
			"Tag": tags, "info": e.Info, "date": "2026-11-30", "analysis": 2, "threat_level_id": 1, "timestamp": e.Timestamp}
	}
	b, _ := json.Marshal(m)
	return b
}

// putFeed serves events as a feed directory under /feed.
func (fs *fileServer) putFeed(events ...testEvent) {
	fs.put("/feed/manifest.json", manifestJSON(events...))
	for _, e := range events {
		fs.put("/feed/"+e.UUID+".json", eventJSON(e))
	}
}

// uuidN is a uuid-shaped id.
func uuidN(prefix string, n int) string {
	return fmt.Sprintf("%s%07x-0000-4000-8000-%012x", prefix, n, n)
}

// sha256Of is a hex digest of s.
func sha256Of(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// newTestManager makes a manager of cfgs; it fails the test on error.
func newTestManager(t testing.TB, opts Options, cfgs ...SourceConfig) *Manager {
	t.Helper()
	for i := range cfgs {
		if cfgs[i].Mode == "" {
			cfgs[i].Mode = policy.Monitor
		}
		if cfgs[i].Severity == "" {
			cfgs[i].Severity = event.SeverityHigh
		}
		if cfgs[i].Interval == 0 {
			cfgs[i].Interval = time.Hour
		}
	}
	m, err := NewManager(cfgs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mustRefresh refreshes name and fails the test on error.
func mustRefresh(t testing.TB, m *Manager, name string) {
	t.Helper()
	if err := m.Refresh(context.Background(), name); err != nil {
		t.Fatal(err)
	}
}

// values lists the indicators' values.
func values(inds []*Indicator) string {
	var out []string
	for _, i := range inds {
		out = append(out, i.Value)
	}
	return strings.Join(out, ",")
}

// statusOf is the live status of a source.
func statusOf(t testing.TB, m *Manager, name string) SourceStatus {
	t.Helper()
	for _, s := range m.Status() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no source %s", name)
	return SourceStatus{}
}
