package event

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestKindTableRows(t *testing.T) {
	rows := KindInfos()
	if len(rows) < 40 {
		t.Fatalf("only %d rows", len(rows))
	}
	seen := map[Kind]bool{}
	for _, row := range rows {
		if seen[row.Kind] {
			t.Errorf("%s has two rows", row.Kind)
		}
		seen[row.Kind] = true
		if got, ok := LookupKind(row.Kind); !ok || got != row {
			t.Errorf("LookupKind(%s) = %+v, %v; want %+v", row.Kind, got, ok, row)
		}
		if row.Family == "" {
			t.Errorf("%s has no family", row.Kind)
		}
		if row.Record {
			// records are named only by counters: nothing may select them
			if row.Output || row.Rule || row.Icon != "" || row.Doc != "" || (row.Family != FamilyEnforce && row.Family != FamilyIOURing) {
				t.Errorf("record %s: %+v; want an enforce or io_uring record that nothing may name", row.Kind, row)
			}
			continue
		}
		if !row.Rule || row.Icon == "" || row.Label == "" || row.Doc == "" || row.Family == FamilyEnforce {
			t.Errorf("event kind %s: %+v; want a rule kind with an icon, a label, a doc anchor and a sensor's family", row.Kind, row)
		}
	}
	if _, ok := KindOfWire(0); ok {
		t.Error("wire 0 (KIND_NONE) has a row")
	}
	if _, ok := KindOfWire(WireKinds); ok {
		t.Error("a wire number past KIND_COUNT has a row")
	}
	if _, ok := LookupKind(""); ok {
		t.Error(`LookupKind("") found an unused number's row`)
	}
	if _, ok := LookupKind(KindAlert); ok {
		t.Error("alert has a row: alerts are not an event kind")
	}
	if got := KindsOf(FamilyEnforce); len(got) != 0 {
		t.Errorf("KindsOf(enforce) = %v: records are not event kinds", got)
	}
}

// heading is a heading of docs/events.md and the text below it, up to the
// next heading of its level or above.
type heading struct {
	level        int
	text, anchor string
	body         string
	family       string // the "## … events" section it lies in, lowercased
}

func docHeadings(t *testing.T) []heading {
	t.Helper()
	raw, err := os.ReadFile(eventsDoc)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	var hs []heading
	family := ""
	for i, line := range lines {
		level := len(line) - len(strings.TrimLeft(line, "#"))
		if level == 0 || !strings.HasPrefix(line[level:], " ") {
			continue
		}
		h := heading{level: level, text: strings.TrimSpace(line[level:])}
		h.anchor = anchor(h.text)
		if level <= 2 {
			family = ""
			if strings.HasSuffix(h.text, " events") {
				family = strings.ToLower(h.text)
			}
		}
		h.family = family
		var body []string
		for _, l := range lines[i+1:] {
			if n := len(l) - len(strings.TrimLeft(l, "#")); n > 0 && n <= level && strings.HasPrefix(l[n:], " ") {
				break
			}
			body = append(body, l)
		}
		h.body = strings.Join(body, "\n")
		hs = append(hs, h)
	}
	return hs
}

// anchor is the id GitHub gives a heading: lower case, punctuation other
// than - and _ dropped, spaces as hyphens.
func anchor(text string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestKindsDocumented checks docs/events.md against the table both ways:
// every event kind's anchor is a heading, in its family's section, that
// names the kind; and every kind a heading of an events section names has a
// row.
func TestKindsDocumented(t *testing.T) {
	hs := docHeadings(t)
	byAnchor := map[string]heading{}
	for _, h := range hs {
		byAnchor[h.anchor] = h
	}
	for _, row := range KindInfos() {
		if row.Record {
			continue
		}
		h, ok := byAnchor[row.Doc]
		if !ok {
			t.Errorf("%s: no heading of %s has the anchor #%s", row.Kind, eventsDoc, row.Doc)
			continue
		}
		tick := "`" + string(row.Kind) + "`"
		if !strings.Contains(h.text, tick) && !strings.Contains(h.body, tick) {
			t.Errorf("%s: section #%s does not name %s", row.Kind, row.Doc, tick)
		}
		if !strings.Contains(h.family, string(row.Family)) {
			t.Errorf("%s: section #%s is not under the %s events heading (it is under %q)", row.Kind, row.Doc, row.Family, h.family)
		}
	}

	// objects get headings too (### `network`): they are Event's fields
	objects := map[string]bool{}
	ev := reflect.TypeOf(Event{})
	for i := 0; i < ev.NumField(); i++ {
		name, _, _ := strings.Cut(ev.Field(i).Tag.Get("json"), ",")
		objects[name] = true
	}
	for _, h := range hs {
		if h.family == "" || h.level < 3 {
			continue
		}
		for _, m := range spanRE.FindAllStringSubmatch(h.text, -1) {
			name := m[1]
			if row, ok := LookupKind(Kind(name)); ok && !row.Record {
				if row.Doc != h.anchor {
					t.Errorf("%s is documented under #%s, but its row's anchor is #%s", name, h.anchor, row.Doc)
				}
				continue
			}
			if !objects[name] {
				t.Errorf("heading %q names %s: neither a kind of the table nor a field of Event", h.text, name)
			}
		}
	}
}

func TestAnchor(t *testing.T) {
	for in, want := range map[string]string{
		"`ptrace` and `process_vm_writev`": "ptrace-and-process_vm_writev",
		"`mount`, `umount`, `pivot_root`":  "mount-umount-pivot_root",
		"Process events":                   "process-events",
	} {
		if got := anchor(in); got != want {
			t.Errorf("anchor(%q) = %q, want %q", in, got, want)
		}
	}
}
