package intel

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// mispServer is a MISP instance's restSearch over TLS: it wants the API
// key in Authorization, pages, and filters on timestamp and deleted as
// MISP does.
type mispServer struct {
	key string

	mu       sync.Mutex
	attrs    []attr
	requests []map[string]any
	srv      *httptest.Server
	caFile   string
}

func newMISPServer(t *testing.T, key string) *mispServer {
	ms := &mispServer{key: key}
	ms.srv = httptest.NewTLSServer(http.HandlerFunc(ms.serve))
	t.Cleanup(ms.srv.Close)
	ms.caFile = filepath.Join(t.TempDir(), "vh14f-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ms.srv.Certificate().Raw})
	if err := os.WriteFile(ms.caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return ms
}

func (ms *mispServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/attributes/restSearch" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != ms.key {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"name": "Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.", "message": "Authentication failed.", "url": "/attributes/restSearch"}`)
		return
	}
	if r.Header.Get("Accept") != "application/json" || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "want JSON", http.StatusNotAcceptable)
		return
	}
	var q map[string]any
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	ms.requests = append(ms.requests, q)
	since, _ := q["timestamp"].(float64)
	_, withDeleted := q["deleted"]
	var match []attr
	for _, a := range ms.attrs {
		ts, _ := strconv.ParseInt(a.Timestamp, 10, 64)
		if (a.Deleted && !withDeleted) || (!a.ToIDs && q["to_ids"] == float64(1)) || float64(ts) < since {
			continue
		}
		match = append(match, a)
	}
	limit, page := int(q["limit"].(float64)), int(q["page"].(float64))
	lo, hi := min(len(match), (page-1)*limit), min(len(match), page*limit)
	if lo == hi {
		fmt.Fprint(w, `{"response": []}`)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"response": map[string]any{"Attribute": match[lo:hi]}})
}

func (ms *mispServer) set(attrs []attr) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	ms.attrs = attrs
}

func (ms *mispServer) reqs() []map[string]any {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]map[string]any(nil), ms.requests...)
}

// restAttr is an attribute as restSearch returns it (includeEventUuid).
func restAttr(n int, typ, value string, ts int64) attr {
	return attr{UUID: uuidN("d", n), Type: typ, Category: "Network activity", Value: value, ToIDs: true,
		Timestamp: strconv.FormatInt(ts, 10),
		Event:     map[string]any{"org_id": "1", "distribution": "3", "id": "12", "info": "C2 servers", "orgc_id": "1", "uuid": uuidN("e", 1)},
		Tag:       []mispTagOut{{Name: "tlp:amber"}, {Name: `misp-galaxy:mitre-attack-pattern="Application Layer Protocol - T1071"`}}}
}

// TestMISPRestSearch pulls from restSearch over TLS trusted through the
// source's CA file, with the key from a key file: pages until a short
// page, then merges incremental pulls, deletions included.
func TestMISPRestSearch(t *testing.T) {
	const key = "vh14f-secret-key-0123456789"
	ms := newMISPServer(t, key)
	var attrs []attr
	for i := range 7 {
		attrs = append(attrs, restAttr(i, "ip-dst", fmt.Sprintf("198.51.100.%d", i+1), 1700000000+int64(i)))
	}
	ms.set(attrs)
	keyFile := filepath.Join(t.TempDir(), "vh14f-key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := newTestManager(t, Options{PageSize: 3, FullEvery: 3},
		SourceConfig{Name: "misp", Kind: KindMISP, URL: ms.srv.URL, CAFile: ms.caFile, KeyFile: keyFile})
	mustRefresh(t, m, "misp")
	if got := m.Current().Len(); got != 7 {
		t.Fatalf("%d indicators after the first pull, want 7", got)
	}
	reqs := ms.reqs()
	if len(reqs) != 3 {
		t.Fatalf("%d pages asked, want 3 (3+3+1)", len(reqs))
	}
	for k, want := range map[string]any{"returnFormat": "json", "to_ids": float64(1), "published": float64(1),
		"enforceWarninglist": float64(1), "includeEventUuid": float64(1), "includeEventTags": float64(1), "page": float64(3)} {
		if reqs[2][k] != want {
			t.Errorf("request %s = %v, want %v", k, reqs[2][k], want)
		}
	}
	if _, ok := reqs[0]["timestamp"]; ok {
		t.Errorf("the first pull is incremental: %v", reqs[0])
	}
	hit := m.Current().IP(netip.MustParseAddr("198.51.100.3"), 443)
	if len(hit) != 1 || hit[0].Prov.EventUUID != uuidN("e", 1) || hit[0].Prov.EventInfo != "C2 servers" ||
		len(hit[0].Prov.Techniques) != 1 || hit[0].Prov.Techniques[0] != "T1071" {
		t.Fatalf("hit %v", hit)
	}

	// an incremental pull: one attribute deleted, one added
	attrs[2].Deleted, attrs[2].Timestamp = true, "1700000100"
	attrs = append(attrs, restAttr(50, "domain", "c2.bad.example", 1700000101))
	ms.set(attrs)
	mustRefresh(t, m, "misp")
	reqs = ms.reqs()[3:]
	if len(reqs) != 2 || reqs[0]["timestamp"] != float64(1700000006) || reqs[0]["deleted"] == nil {
		t.Fatalf("incremental pull asked %v", reqs)
	}
	set := m.Current()
	if len(set.IP(netip.MustParseAddr("198.51.100.3"), 0)) != 0 || len(set.Domain("c2.bad.example")) != 1 || set.Len() != 7 {
		t.Errorf("after the incremental pull: %d indicators, deleted one %v", set.Len(), values(set.IP(netip.MustParseAddr("198.51.100.3"), 0)))
	}

	// nothing new: unchanged
	mustRefresh(t, m, "misp")
	if st := statusOf(t, m, "misp"); st.Unchanged != 1 {
		t.Errorf("unchanged %d, want 1", st.Unchanged)
	}
	// the third pull after the full one is full again: an attribute
	// whose to_ids was cleared (which an incremental pull cannot see) goes
	attrs[0].ToIDs = false
	ms.set(attrs)
	mustRefresh(t, m, "misp")
	if last := ms.reqs()[len(ms.reqs())-1]; last["timestamp"] != nil {
		t.Errorf("the full pull asked %v", last)
	}
	if got := m.Current().IP(netip.MustParseAddr("198.51.100.1"), 0); len(got) != 0 {
		t.Errorf("an attribute no longer to_ids is in force: %v", values(got))
	}
}

// TestMISPRestSearchKey: a wrong key is refused by the server and the
// error says so without the key; a missing one is a config error naming
// the variable.
func TestMISPRestSearchKey(t *testing.T) {
	ms := newMISPServer(t, "vh14f-right-key")
	ms.set([]attr{restAttr(1, "ip-dst", "198.51.100.1", 1)})
	const wrong = "vh14f-wrong-key-SECRET"
	t.Setenv("VH14F_MISP_KEY", wrong)
	m := newTestManager(t, Options{}, SourceConfig{Name: "misp", Kind: KindMISP, URL: ms.srv.URL + "/?key=" + wrong, CAFile: ms.caFile, KeyEnv: "VH14F_MISP_KEY"})
	err := m.Refresh(context.Background(), "misp")
	var re *RefreshError
	if !errors.As(err, &re) || re.Reason != ReasonHTTP || !strings.Contains(err.Error(), "403") {
		t.Fatalf("wrong key: %v", err)
	}
	st := statusOf(t, m, "misp")
	for _, s := range []string{err.Error(), st.LastError, st.URL} {
		if strings.Contains(s, wrong) {
			t.Errorf("the key leaks: %q", s)
		}
	}
	if st.FailuresByReason[ReasonHTTP] != 1 {
		t.Errorf("failures %v", st.FailuresByReason)
	}

	m = newTestManager(t, Options{}, SourceConfig{Name: "nokey", Kind: KindMISP, URL: ms.srv.URL, CAFile: ms.caFile, KeyEnv: "VH14F_UNSET_KEY"})
	err = m.Refresh(context.Background(), "nokey")
	if !errors.As(err, &re) || re.Reason != ReasonConfig || !strings.Contains(err.Error(), "$VH14F_UNSET_KEY") {
		t.Fatalf("missing key: %v", err)
	}

	// without the CA file the server's certificate is not trusted
	t.Setenv("VH14F_MISP_KEY", "vh14f-right-key")
	m = newTestManager(t, Options{}, SourceConfig{Name: "noca", Kind: KindMISP, URL: ms.srv.URL, KeyEnv: "VH14F_MISP_KEY"})
	err = m.Refresh(context.Background(), "noca")
	if !errors.As(err, &re) || re.Reason != ReasonUnreachable || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}
}
