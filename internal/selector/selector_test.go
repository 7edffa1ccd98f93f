package selector

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/event"
)

func decode(t *testing.T, src string) (*Pods, []*FieldError) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return Decode(doc.Content[0], "scope")
}

// TestLabelSelectorSemantics: the operators mean what they mean in
// Kubernetes, NotIn and DoesNotExist included for pods without the key.
func TestLabelSelectorSemantics(t *testing.T) {
	web := map[string]string{"app": "web", "tier": "frontend"}
	bare := map[string]string{}
	for _, c := range []struct {
		name      string
		sel       LabelSelector
		web, bare bool
	}{
		{"empty selects all", LabelSelector{}, true, true},
		{"matchLabels", LabelSelector{MatchLabels: map[string]string{"app": "web"}}, true, false},
		{"matchLabels wrong value", LabelSelector{MatchLabels: map[string]string{"app": "db"}}, false, false},
		{"In", LabelSelector{MatchExpressions: []Requirement{{"tier", In, []string{"backend", "frontend"}}}}, true, false},
		{"NotIn holds without the key", LabelSelector{MatchExpressions: []Requirement{{"tier", NotIn, []string{"frontend"}}}}, false, true},
		{"Exists", LabelSelector{MatchExpressions: []Requirement{{"app", Exists, nil}}}, true, false},
		{"DoesNotExist", LabelSelector{MatchExpressions: []Requirement{{"app", DoesNotExist, nil}}}, false, true},
		{"all must hold", LabelSelector{MatchLabels: map[string]string{"app": "web"},
			MatchExpressions: []Requirement{{"tier", In, []string{"backend"}}}}, false, false},
		{"unknown operator never holds", LabelSelector{MatchExpressions: []Requirement{{"app", "in", []string{"web"}}}}, false, false},
	} {
		if got := c.sel.Matches(web); got != c.web {
			t.Errorf("%s: web pod matched %v, want %v", c.name, got, c.web)
		}
		if got := c.sel.Matches(bare); got != c.bare {
			t.Errorf("%s: unlabelled pod matched %v, want %v", c.name, got, c.bare)
		}
	}
}

// TestMatchContainer: a scope never chooses a host process or a container
// outside Kubernetes, and decides on what is known of a pod.
func TestMatchContainer(t *testing.T) {
	p, errs := decode(t, `{namespaces: [prod, payments], podSelector: {matchLabels: {app: web}}, containers: [nginx]}`)
	if errs != nil {
		t.Fatal(errs)
	}
	pod := func(ns string, labels map[string]string, name string) *event.Container {
		return &event.Container{ID: "c1", Name: name, Pod: &event.Pod{UID: "u1", Namespace: ns, Labels: labels}}
	}
	web := map[string]string{"app": "web"}
	for _, c := range []struct {
		name string
		c    *event.Container
		want bool
	}{
		{"chosen", pod("payments", web, "nginx"), true},
		{"other namespace", pod("dev", web, "nginx"), false},
		{"other labels", pod("prod", map[string]string{"app": "db"}, "nginx"), false},
		{"other container", pod("prod", web, "sidecar"), false},
		{"pod not known yet", pod("", nil, ""), false},
		{"host", &event.Container{ID: event.HostContainerID}, false},
		{"docker container", &event.Container{ID: "c2", Runtime: "docker", Name: "nginx"}, false},
		{"no container", nil, false},
	} {
		if got := p.MatchContainer(c.c); got != c.want {
			t.Errorf("%s: matched %v, want %v", c.name, got, c.want)
		}
	}
	any := &Pods{}
	if !any.MatchContainer(pod("", nil, "")) || any.MatchContainer(&event.Container{ID: event.HostContainerID}) {
		t.Error("the empty scope must choose every pod's containers, known or not, and no host process")
	}
}

func TestDecode(t *testing.T) {
	p, errs := decode(t, `
namespaces: [prod]
podSelector:
  matchLabels: {app.kubernetes.io/name: web}
  matchExpressions:
    - {key: tier, operator: NotIn, values: [debug]}
    - {key: canary, operator: DoesNotExist}
containers: [web, istio-proxy]
`)
	if errs != nil {
		t.Fatal(errs)
	}
	if len(p.Namespaces) != 1 || p.PodSelector.MatchLabels["app.kubernetes.io/name"] != "web" ||
		len(p.PodSelector.MatchExpressions) != 2 || p.PodSelector.MatchExpressions[0].Operator != NotIn ||
		len(p.Containers) != 2 {
		t.Errorf("decoded %+v %+v", p, p.PodSelector)
	}
}

// TestDecodeErrors: each mistake is reported at its node, with its field
// path and what would be valid.
func TestDecodeErrors(t *testing.T) {
	_, errs := decode(t, `namespaces: [Prod, ""]
podSelector:
  matchLabels: {"-bad": web, app: "a b"}
  matchExpressions:
    - {key: tier, operator: in, values: [x]}
    - {key: tier, operator: In}
    - {key: tier, operator: Exists, values: [x]}
    - {operator: Exists}
containers: []
nodes: [x]
`)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	text := strings.Join(got, "\n")
	for _, want := range []string{
		`1:14: scope.namespaces[0]: "Prod" is not a valid name`,
		`1:20: scope.namespaces[1]: empty name`,
		`3:17: scope.podSelector.matchLabels.-bad: "-bad" is not a valid label key`,
		`3:35: scope.podSelector.matchLabels.app: "a b" is not a valid label value`,
		`5:29: scope.podSelector.matchExpressions[0].operator: unknown operator "in"; want one of [In NotIn Exists DoesNotExist]`,
		`6:7: scope.podSelector.matchExpressions[1].values: In needs at least one value`,
		`7:45: scope.podSelector.matchExpressions[2].values: Exists takes no values`,
		`8:7: scope.podSelector.matchExpressions[3].key: missing`,
		`9:13: scope.containers: empty list: it would match nothing`,
		`10:1: scope: unknown key "nodes"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing error %q in:\n%s", want, text)
		}
	}
	if len(errs) != 10 {
		t.Errorf("%d errors, want 10:\n%s", len(errs), text)
	}
	if _, errs := decode(t, `[prod]`); len(errs) != 1 || !strings.Contains(errs[0].Msg, "want a mapping") {
		t.Errorf("a list for a scope: %v", errs)
	}
}

// TestDecodeIssueSpellings: namespace (one name) and containerSelector
// ({names: […]}) mean what namespaces and containers mean.
func TestDecodeIssueSpellings(t *testing.T) {
	p, errs := decode(t, `{namespace: prod, podSelector: {matchLabels: {app: web}}, containerSelector: {names: [nginx]}}`)
	if errs != nil {
		t.Fatal(errs)
	}
	if len(p.Namespaces) != 1 || p.Namespaces[0] != "prod" || len(p.Containers) != 1 || p.Containers[0] != "nginx" {
		t.Errorf("decoded %+v", p)
	}
	if !p.Matches("prod", map[string]string{"app": "web"}, "nginx") || p.Matches("prod", map[string]string{"app": "web"}, "sidecar") {
		t.Error("namespace/containerSelector do not select as namespaces/containers do")
	}
}

func TestDecodeIssueSpellingsErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`{namespace: prod, namespaces: [dev]}`, `1:13: scope.namespace: give namespace (one) or namespaces (a list), not both`},
		{`{namespace: [prod]}`, `1:13: scope.namespace: want a namespace name, got a list`},
		{`{namespace: Prod}`, `1:13: scope.namespace: "Prod" is not a valid name`},
		{`{containers: [a], containerSelector: {names: [b]}}`, `1:38: scope.containerSelector: give containers (a list) or containerSelector, not both`},
		{`{containerSelector: {}}`, `1:21: scope.containerSelector.names: missing`},
		{`{containerSelector: {names: [A]}}`, `1:30: scope.containerSelector.names[0]: "A" is not a valid name`},
		{`{containerSelector: {images: [x]}}`, `1:22: scope.containerSelector: unknown key "images"; want one of [names]`},
		{`{containerSelector: [nginx]}`, `1:21: scope.containerSelector: want a mapping with [names], got a list`},
	} {
		_, errs := decode(t, c.src)
		var got []string
		for _, e := range errs {
			got = append(got, e.Error())
		}
		if text := strings.Join(got, "\n"); len(errs) != 1 || !strings.HasPrefix(text, c.want) {
			t.Errorf("%s:\n got %s\nwant %s", c.src, text, c.want)
		}
	}
}
