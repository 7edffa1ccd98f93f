package intel

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// feedEvents is a small feed of realistic shape: hashes (plain, in a
// filename|, in a file object), addresses, a port, a CIDR, domains, a
// URL, one attribute without to_ids and the empty file's sha256.
func feedEvents() []testEvent {
	bad := sha256Of("evil binary")
	return []testEvent{
		{UUID: uuidN("a", 1), Info: "OSINT - Linux backdoor", Timestamp: 1700000000,
			Tags: []string{"tlp:white", `misp-galaxy:mitre-attack-pattern="Unix Shell - T1059.004"`},
			Attrs: []attr{
				{UUID: uuidN("b", 1), Type: "sha256", Category: "Payload delivery", Value: bad, ToIDs: true, Timestamp: "1700000000"},
				{UUID: uuidN("b", 2), Type: "filename|md5", Category: "Payload delivery", Value: "x.elf|D41D8CD98F00B204E9800998ECF8427F", ToIDs: true, Timestamp: "1700000000"},
				{UUID: uuidN("b", 3), Type: "ip-dst|port", Category: "Network activity", Value: "198.51.100.7|4444", ToIDs: true, Timestamp: "1700000000",
					Tag: []mispTagOut{{Name: "kill-chain:c2"}}},
				{UUID: uuidN("b", 4), Type: "domain", Category: "Network activity", Value: "Evil.Example.", ToIDs: true, Timestamp: "1700000000"},
				{UUID: uuidN("b", 5), Type: "ip-src", Category: "Network activity", Value: "203.0.113.0/24", ToIDs: true, Timestamp: "1700000000"},
				{UUID: uuidN("b", 6), Type: "domain", Category: "Network activity", Value: "notids.example", ToIDs: false, Timestamp: "1700000000"},
				{UUID: uuidN("b", 7), Type: "sha256", Category: "Payload delivery", Value: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", ToIDs: true, Timestamp: "1700000000"},
				{UUID: uuidN("b", 8), Type: "email-src", Category: "Payload delivery", Value: "a@b.example", ToIDs: true, Timestamp: "1700000000"},
			},
			Objects: [][]attr{{
				{UUID: uuidN("c", 1), Type: "sha1", Category: "Payload delivery", Value: "AAF4C61DDCC5E8A2DABEDE0F3B482CD9AEA9434D", ToIDs: true, Timestamp: "1700000000"},
			}},
		},
		{UUID: uuidN("a", 2), Info: "Phishing wave", Timestamp: 1700000100,
			Attrs: []attr{
				{UUID: uuidN("b", 9), Type: "url", Category: "Network activity", Value: "https://login.phish.example:8443/x?y=1", ToIDs: true, Timestamp: "1700000100"},
				{UUID: uuidN("b", 10), Type: "domain|ip", Category: "Network activity", Value: "cdn.bad.example|2001:db8::5", ToIDs: true, Timestamp: "1700000100"},
				{UUID: uuidN("b", 11), Type: "url", Category: "Network activity", Value: "http://192.0.2.9:8080/gate.php", ToIDs: true, Timestamp: "1700000100"},
			},
		},
	}
}

// TestMISPFeed serves a feed directory over HTTP with ETags: every
// attribute type lands where Hash, IP and Domain find it, with its
// provenance; the second refresh is a 304 counted as unchanged; a
// changed event alone is fetched again; a removed IOC leaves the set.
func TestMISPFeed(t *testing.T) {
	fs := newFileServer(t)
	events := feedEvents()
	fs.putFeed(events...)
	m := newTestManager(t, Options{}, SourceConfig{Name: "circl", Kind: KindMISPFeed, URL: fs.srv.URL + "/feed/"})
	var swaps []*Set
	m.Subscribe(func(s *Set) { swaps = append(swaps, s) })
	mustRefresh(t, m, "circl")
	set := m.Current()

	bad := sha256Of("evil binary")
	hits := set.Hash(TypeSHA256, strings.ToUpper(bad))
	if len(hits) != 1 {
		t.Fatalf("sha256 %s: %d hits, want 1", bad, len(hits))
	}
	p := hits[0].Prov
	if p.Source != "circl" || p.EventUUID != uuidN("a", 1) || p.EventInfo != "OSINT - Linux backdoor" ||
		p.AttributeUUID != uuidN("b", 1) || p.AttributeType != "sha256" || p.Value != bad {
		t.Errorf("provenance %+v", p)
	}
	if !slices.Contains(p.Tags, "tlp:white") || !slices.Equal(p.Techniques, []string{"T1059.004"}) {
		t.Errorf("tags %q techniques %q", p.Tags, p.Techniques)
	}
	raw, _ := hex.DecodeString(bad)
	if got := set.HashBytes(raw); len(got) != 1 || got[0] != hits[0] {
		t.Errorf("HashBytes: %v", values(got))
	}
	if got := set.Hash(TypeMD5, "d41d8cd98f00b204e9800998ecf8427f"); len(got) != 1 {
		t.Errorf("filename|md5: %d hits", len(got))
	}
	if got := set.Hash(TypeSHA1, "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"); len(got) != 1 {
		t.Errorf("object's sha1: %d hits", len(got))
	}
	if got := set.Hash(TypeSHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"); len(got) != 0 {
		t.Errorf("the empty file's sha256 acts: %v", values(got))
	}
	ip := func(a string, port uint16) []*Indicator { return set.IP(netip.MustParseAddr(a), port) }
	if got := ip("198.51.100.7", 4444); len(got) != 1 || got[0].Port != 4444 || !slices.Contains(got[0].Prov.Tags, "kill-chain:c2") {
		t.Errorf("ip-dst|port on its port: %v", values(got))
	}
	if got := ip("198.51.100.7", 80); len(got) != 0 {
		t.Errorf("ip-dst|port on another port: %v", values(got))
	}
	if got := ip("203.0.113.77", 443); len(got) != 1 || got[0].Value != "203.0.113.0/24" {
		t.Errorf("CIDR: %v", values(got))
	}
	if got := ip("::ffff:203.0.113.1", 0); len(got) != 1 {
		t.Errorf("IPv4-mapped address: %v", values(got))
	}
	if got := ip("2001:db8::5", 53); len(got) != 1 {
		t.Errorf("domain|ip's address: %v", values(got))
	}
	if got := ip("192.0.2.9", 8080); len(got) != 1 || got[0].Type != TypeIP {
		t.Errorf("URL with an address host: %v", values(got))
	}
	for name, want := range map[string]int{"evil.example": 1, "a.b.EVIL.example.": 1, "login.phish.example": 1, "cdn.bad.example": 1,
		"phish.example": 0, "notids.example": 0, "example": 0} {
		if got := set.Domain(name); len(got) != want {
			t.Errorf("Domain(%s): %d hits (%s), want %d", name, len(got), values(got), want)
		}
	}
	st := statusOf(t, m, "circl")
	if st.Loaded[TypeSHA256] != 1 || st.Loaded[TypeDomain] != 3 || st.Loaded[TypeIP] != 4 || st.Skipped["not_to_ids"] != 1 ||
		st.Skipped["never_act"] != 1 || st.Skipped["type"] != 1 || st.Bytes <= 0 {
		t.Errorf("status %+v", st)
	}

	// unchanged: the manifest answers 304, no event is fetched again
	mustRefresh(t, m, "circl")
	if _, nm := fs.count("/feed/manifest.json"); nm != 1 {
		t.Errorf("manifest: %d 304s, want 1", nm)
	}
	if st := statusOf(t, m, "circl"); st.Unchanged != 1 || st.Refreshes != 2 || len(swaps) != 1 {
		t.Errorf("after a 304: unchanged %d refreshes %d swaps %d", st.Unchanged, st.Refreshes, len(swaps))
	}

	// the second event drops its URL; only it is fetched again
	events[1].Attrs = events[1].Attrs[1:]
	events[1].Timestamp++
	fs.putFeed(events...)
	mustRefresh(t, m, "circl")
	if h, _ := fs.count("/feed/" + events[0].UUID + ".json"); h != 1 {
		t.Errorf("unchanged event fetched %d times", h)
	}
	if h, _ := fs.count("/feed/" + events[1].UUID + ".json"); h != 2 {
		t.Errorf("changed event fetched %d times, want 2", h)
	}
	set2 := m.Current()
	if got := set2.Domain("login.phish.example"); len(got) != 0 {
		t.Errorf("removed URL still in force: %v", values(got))
	}
	if got := set.Domain("login.phish.example"); len(got) != 1 {
		t.Errorf("the old set changed: %v", values(got))
	}
	if len(swaps) != 2 || swaps[1] != set2 {
		t.Errorf("subscribers saw %d swaps", len(swaps))
	}

	// an event gone from the manifest takes its IOCs along
	fs.remove("/feed/" + events[0].UUID + ".json")
	fs.putFeed(events[1:]...)
	mustRefresh(t, m, "circl")
	if got := m.Current().Hash(TypeSHA256, bad); len(got) != 0 {
		t.Errorf("IOC of a removed event still in force")
	}
}

// TestMISPFeedWarninglists: a feed's warninglists.json and a configured
// warninglist file both remove what they list.
func TestMISPFeedWarninglists(t *testing.T) {
	fs := newFileServer(t)
	fs.putFeed(feedEvents()...)
	fs.put("/feed/warninglists.json", []byte(`[{"name": "List of known CDN domains", "type": "hostname", "list": ["bad.example"]},
		{"name": "RFC 5737", "type": "cidr", "list": ["203.0.113.0/24", "192.0.2.0/24"]}]`))
	fs.put("/wl/sub.json", []byte(`{"name": "phishy", "version": 1, "description": "d", "matching_attributes": ["domain"], "type": "substring", "list": ["phish"]}`))
	m := newTestManager(t, Options{}, SourceConfig{Name: "f", Kind: KindMISPFeed, URL: fs.srv.URL + "/feed",
		Warninglists: []string{fs.srv.URL + "/wl/sub.json"}})
	mustRefresh(t, m, "f")
	set := m.Current()
	if got := set.Domain("cdn.bad.example"); len(got) != 0 {
		t.Errorf("hostname warninglist: %v", values(got))
	}
	if got := set.IP(netip.MustParseAddr("203.0.113.1"), 0); len(got) != 0 {
		t.Errorf("cidr warninglist: %v", values(got))
	}
	if got := set.Domain("login.phish.example"); len(got) != 0 {
		t.Errorf("substring warninglist: %v", values(got))
	}
	if got := set.Domain("evil.example"); len(got) != 1 {
		t.Errorf("an unlisted domain: %v", values(got))
	}
	if st := statusOf(t, m, "f"); st.Skipped["warninglist"] != 4 {
		t.Errorf("skipped %v, want 4 on warninglists", st.Skipped)
	}

	// a changed configured warninglist applies at the next refresh,
	// though the feed is unchanged
	fs.put("/wl/sub.json", []byte(`{"name": "evil", "type": "string", "list": ["evil.example"]}`))
	mustRefresh(t, m, "f")
	if got := m.Current().Domain("login.phish.example"); len(got) != 1 {
		t.Errorf("after the warninglist changed: %v", values(got))
	}
	if got := m.Current().Domain("evil.example"); len(got) != 0 {
		t.Errorf("string warninglist: %v", values(got))
	}
}

// TestMISPFeedConcurrency: event files are fetched at most
// Options.Concurrency at a time, however many change.
func TestMISPFeedConcurrency(t *testing.T) {
	fs := newFileServer(t)
	var events []testEvent
	for i := range 40 {
		events = append(events, testEvent{UUID: uuidN("7", i), Info: "e", Timestamp: 1,
			Attrs: []attr{{UUID: uuidN("8", i), Type: "domain", Value: uuidN("x", i)[:8] + ".example", ToIDs: true}}})
	}
	fs.putFeed(events...)
	release := make(chan struct{})
	for _, e := range events {
		path := "/feed/" + e.UUID + ".json"
		body := eventJSON(e)
		fs.handle(path, func(w http.ResponseWriter, _ *http.Request) {
			<-release
			_, _ = w.Write(body)
		})
	}
	m := newTestManager(t, Options{Concurrency: 3}, SourceConfig{Name: "f", Kind: KindMISPFeed, URL: fs.srv.URL + "/feed"})
	done := make(chan error)
	go func() { done <- m.Refresh(context.Background(), "f") }()
	// let the requests through one by one: each waits on release
	for range events {
		release <- struct{}{}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fs.mu.Lock()
	peak := fs.maxInflight
	fs.mu.Unlock()
	if peak > 3 || m.Current().Len() != 40 {
		t.Errorf("%d requests at once (want at most 3), %d loaded", peak, m.Current().Len())
	}
}
