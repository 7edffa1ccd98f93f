package intel

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const plainList = `# abuse-style list: one IOC a line
44d88612fea8a8f36de82e1278abb02f
3395856ce81f2b7382dee72602f798b642f14140   # eicar sha1
275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f
198.51.100.20
198.51.100.0/27
[2001:db8::1]:8443
203.0.113.5:22
https://Drop.Bad.Example/payload.sh

0.0.0.0 ads.bad.example
c2.bad.example.
`

// TestPlainList: a local file of one IOC a line, types guessed; an
// unchanged file (same size and mtime) is not read again; an IOC removed
// from the file leaves the set.
func TestPlainList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vh14f-list.txt")
	if err := os.WriteFile(path, []byte(plainList), 0o600); err != nil {
		t.Fatal(err)
	}
	m := newTestManager(t, Options{}, SourceConfig{Name: "list", Kind: KindList, URL: path, Column: -1})
	mustRefresh(t, m, "list")
	set := m.Current()
	st := statusOf(t, m, "list")
	want := map[Type]int{TypeMD5: 1, TypeSHA1: 1, TypeSHA256: 1, TypeIP: 4, TypeDomain: 3}
	for typ, n := range want {
		if st.Loaded[typ] != n {
			t.Errorf("%s: %d loaded, want %d (%v)", typ, st.Loaded[typ], n, st.Loaded)
		}
	}
	if got := set.IP(netip.MustParseAddr("2001:db8::1"), 8443); len(got) != 1 || got[0].Port != 8443 {
		t.Errorf("[v6]:port: %v", values(got))
	}
	if got := set.IP(netip.MustParseAddr("198.51.100.20"), 80); len(got) != 2 {
		t.Errorf("address in a listed /28 and listed itself: %v", values(got))
	}
	if got := set.Domain("drop.bad.example"); len(got) != 1 || got[0].Prov.Source != "list" {
		t.Errorf("URL host: %v", values(got))
	}
	if got := set.Domain("ads.bad.example"); len(got) != 1 {
		t.Errorf("hosts-file line: %v", values(got))
	}

	mustRefresh(t, m, "list")
	if st := statusOf(t, m, "list"); st.Unchanged != 1 {
		t.Errorf("an unchanged file: %d unchanged", st.Unchanged)
	}
	trimmed := strings.Replace(plainList, "c2.bad.example.\n", "", 1)
	if err := os.WriteFile(path, []byte(trimmed), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, future, future); err != nil {
		t.Fatal(err)
	}
	mustRefresh(t, m, "list")
	if got := m.Current().Domain("c2.bad.example"); len(got) != 0 {
		t.Errorf("removed line in force: %v", values(got))
	}
}

// TestPlainListErrors: a line that is no IOC refuses the list, naming
// the file and line.
func TestPlainListErrors(t *testing.T) {
	for _, tc := range []struct{ data, where string }{
		{"198.51.100.1\nnot-a-domain!.example\n", ":2"},
		{"# c\n\n1.2.3.4/99\n", ":3"},
		{"bad..example\n", ":1"},
	} {
		_, err := parseList([]byte(tc.data), -1, "list", "vh14f.txt")
		var re *RefreshError
		if !errors.As(err, &re) || re.Where != "vh14f.txt"+tc.where || re.Reason != ReasonMalformed {
			t.Errorf("%q: %v", tc.data, err)
		}
	}
}

// TestCSVList serves a CSV over HTTP: the column chosen holds the IOCs,
// the header is skipped, quoted fields read.
func TestCSVList(t *testing.T) {
	fs := newFileServer(t)
	fs.put("/iocs.csv", []byte("first_seen,ioc,threat\n"+
		"2026-11-30,198.51.100.9,\"botnet, c2\"\n"+
		"# a comment\n"+
		"2026-12-01,evil.example,phishing\n"+
		"2026-12-01,,empty\n"+
		"2026-12-02,\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\",payload\n"))
	m := newTestManager(t, Options{}, SourceConfig{Name: "csv", Kind: KindList, URL: fs.srv.URL + "/iocs.csv", Column: 1})
	mustRefresh(t, m, "csv")
	set := m.Current()
	if set.Len() != 3 || len(set.Domain("www.evil.example")) != 1 ||
		len(set.Hash(TypeSHA256, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")) != 1 ||
		len(set.IP(netip.MustParseAddr("198.51.100.9"), 0)) != 1 {
		t.Errorf("CSV: %d indicators", set.Len())
	}
	_, err := parseCSV([]byte("a,b\n1.2.3.4,x!y\n5.6.7.8\n"), 1, "vh14f.csv", &Provenance{})
	if err == nil || !strings.Contains(err.Error(), "vh14f.csv:2") {
		t.Errorf("a non-IOC field after the header: %v", err)
	}
	_, err = parseCSV([]byte("1.2.3.4,x\n5.6.7.8\n"), 0, "vh14f.csv", &Provenance{})
	if err != nil {
		t.Errorf("short record, column present: %v", err)
	}
	_, err = parseCSV([]byte("x,1.2.3.4\n5.6.7.8\n"), 1, "vh14f.csv", &Provenance{})
	if err == nil || !strings.Contains(err.Error(), "vh14f.csv:2") || !strings.Contains(err.Error(), "no column 1") {
		t.Errorf("record without the column: %v", err)
	}
}

// TestKunai reads kunai-tools' misp-to-kunai output and Kunai's minimal
// form: typed lines as their MISP type, untyped ones guessed, "path"
// skipped.
func TestKunai(t *testing.T) {
	data := `{"type": "sha256", "uuid": "5f3a3b1e-1111-4000-8000-000000000001", "source": "CIRCL OSINT", "value": "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", "event_uuid": "5f3a3b1e-0000-4000-8000-000000000001", "severity": 10}
{"type": "ip-dst", "uuid": "5f3a3b1e-1111-4000-8000-000000000002", "source": "CIRCL OSINT", "value": "198.51.100.44", "event_uuid": "5f3a3b1e-0000-4000-8000-000000000001", "severity": 5}
{"type": "path", "uuid": "5f3a3b1e-1111-4000-8000-000000000003", "source": "CIRCL OSINT", "value": "/tmp/.x", "event_uuid": "5f3a3b1e-0000-4000-8000-000000000001", "severity": 7}
{"uuid": "ioc_uuid", "source": "Some IoC source", "value": "circl.lu"}
`
	path := filepath.Join(t.TempDir(), "vh14f-kunai.json")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	m := newTestManager(t, Options{}, SourceConfig{Name: "kunai", Kind: KindKunai, URL: path})
	mustRefresh(t, m, "kunai")
	set := m.Current()
	hit := set.Hash(TypeSHA256, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f")
	if len(hit) != 1 || hit[0].Prov.EventUUID != "5f3a3b1e-0000-4000-8000-000000000001" || hit[0].Prov.EventInfo != "CIRCL OSINT" ||
		hit[0].Prov.AttributeUUID != "5f3a3b1e-1111-4000-8000-000000000001" {
		t.Errorf("kunai sha256: %+v", hit)
	}
	if len(set.IP(netip.MustParseAddr("198.51.100.44"), 0)) != 1 || len(set.Domain("www.circl.lu")) != 1 || set.Len() != 3 {
		t.Errorf("kunai: %d indicators", set.Len())
	}
	if st := statusOf(t, m, "kunai"); st.Skipped["type"] != 1 {
		t.Errorf("skipped %v", st.Skipped)
	}
	_, err := parseKunai([]byte(`{"value": "a.example"}`+"\n"+`{"value": "b.example"`), "kunai", "vh14f.json")
	var re *RefreshError
	if !errors.As(err, &re) || !strings.HasPrefix(re.Where, "vh14f.json:2") {
		t.Errorf("broken second line: %v", err)
	}
}

// TestRefreshUnknownSource: Refresh names a missing source.
func TestRefreshUnknownSource(t *testing.T) {
	m := newTestManager(t, Options{})
	if err := m.Refresh(context.Background(), "nope"); !errors.Is(err, ErrNoSource) {
		t.Errorf("unknown source: %v", err)
	}
	if m.Current() == nil || m.Current().Len() != 0 {
		t.Errorf("an empty manager's set")
	}
}
