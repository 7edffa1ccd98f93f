package event

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// eventsDoc is the schema users read; every JSON name vigil writes must be
// in it.
const eventsDoc = "../../docs/events.md"

// TestEventJSONKeysAreDocumented encodes, for every event kind, an event
// with every field set, as the outputs encode it, and checks that the kind
// and every key path of the JSON (file.path, process.container.pod.uid, …)
// are documented in docs/events.md, where that object is documented: a
// renamed JSON tag, or a new field nobody documented, fails here.
func TestEventJSONKeysAreDocumented(t *testing.T) {
	raw, err := os.ReadFile(eventsDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := parseDoc(string(raw))
	free := mapPaths(reflect.TypeOf(Event{}), "", map[string]bool{})
	kinds := kindConstants(t)
	if len(kinds) < 30 {
		t.Fatalf("found only %d Kind constants in the package: %v", len(kinds), kinds)
	}

	judged, undocumented := map[string]bool{}, map[string]bool{}
	for _, kind := range kinds {
		if !doc.hasSpan(string(kind)) {
			t.Errorf("kind %q is not in %s", kind, eventsDoc)
		}
		ev := &Event{}
		fill(reflect.ValueOf(ev).Elem(), 0)
		ev.Kind = kind
		out, err := ev.AppendJSON(nil)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		var tree map[string]any
		if err := json.Unmarshal(out, &tree); err != nil {
			t.Fatalf("%s: %v\n%s", kind, err, out)
		}
		for _, path := range keyPaths(tree, "", free) { // sorted: an object before its fields
			if judged[path] || underUndocumented(path, undocumented) {
				continue
			}
			judged[path] = true
			if why := doc.documents(path); why != "" {
				t.Errorf("%s: %s", path, why)
				undocumented[path] = true // its fields would only repeat it
			}
		}
	}
}

// underUndocumented says whether an object that holds path is undocumented.
func underUndocumented(path string, undocumented map[string]bool) bool {
	for i := range path {
		if path[i] == '.' && undocumented[path[:i]] {
			return true
		}
	}
	return false
}

// TestKeyPathsOfAFullEvent keeps the check above honest: the walk reaches
// the deepest fields, and stops at free-form maps.
func TestKeyPathsOfAFullEvent(t *testing.T) {
	ev := &Event{}
	fill(reflect.ValueOf(ev).Elem(), 0)
	out, err := ev.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := json.Unmarshal(out, &tree); err != nil {
		t.Fatal(err)
	}
	paths := keyPaths(tree, "", mapPaths(reflect.TypeOf(Event{}), "", map[string]bool{}))
	for _, want := range []string{
		"time", "ancestors.exec_id", "process.container.pod.labels", "parent.executable.mtime",
		"privilege.caps_after.inheritable", "exit.duration_ns", "syscall.args", "file.path_source",
	} {
		if !slices.Contains(paths, want) {
			t.Errorf("key path %s missing from %v", want, paths)
		}
	}
	for _, p := range paths {
		if strings.HasPrefix(p, "process.container.pod.labels.") {
			t.Errorf("walked into the labels map: %s", p)
		}
	}

	doc := parseDoc("## Envelope\n| `process` | object | x |\n## `process`\n| `container` | object | `{id, pod}`; `pod` is `{uid, labels}` |\n")
	for path, ok := range map[string]bool{
		"process": true, "process.container": true, "process.container.pod.uid": true,
		"process.container.pod.name": false, "process.cwd": false, "parent.container.id": true, "node": false,
	} {
		if why := doc.documents(path); (why == "") != ok {
			t.Errorf("documents(%s) = %q, want documented %v", path, why, ok)
		}
	}
}

// kindConstants are the event kinds of the table, records aside (they are
// never encoded), sorted.
func kindConstants(t *testing.T) []Kind {
	t.Helper()
	kinds := KindsWhere(func(row KindInfo) bool { return !row.Record })
	sort.Slice(kinds, func(i, j int) bool { return kinds[i] < kinds[j] })
	return kinds
}

// mapPaths collects the JSON paths of map-typed fields: their keys are
// data (pod labels), not schema.
func mapPaths(t reflect.Type, prefix string, out map[string]bool) map[string]bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || len(prefix) > 200 {
		return out
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		path := strings.TrimPrefix(prefix+"."+name, ".")
		if f.Type.Kind() == reflect.Map {
			out[path] = true
			continue
		}
		mapPaths(f.Type, path, out)
	}
	return out
}

// keyPaths lists every key path of a decoded JSON object; arrays add no
// step (ancestors.pid), free-form maps are leaves.
func keyPaths(v any, prefix string, free map[string]bool) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			path := strings.TrimPrefix(prefix+"."+k, ".")
			out = append(out, path)
			if !free[path] {
				out = append(out, keyPaths(child, path, free)...)
			}
		}
	case []any:
		seen := map[string]bool{}
		for _, child := range v {
			for _, p := range keyPaths(child, prefix, free) {
				if !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// docLine is a line of the document with its backticked texts and the
// identifiers inside them (`{a, b}` names a and b).
type docLine struct {
	text         string
	spans, names []string
}

func newDocLine(text string) docLine {
	l := docLine{text: text}
	for _, m := range spanRE.FindAllStringSubmatch(text, -1) {
		l.spans = append(l.spans, m[1])
		l.names = append(l.names, identRE.FindAllString(m[1], -1)...)
	}
	return l
}

// docSection is one heading of the document and the lines below it.
type docSection struct {
	heading docLine
	lines   []docLine
}

type schemaDoc struct {
	sections []docSection
	spans    map[string]bool // every backticked text
}

func parseDoc(text string) schemaDoc {
	d := schemaDoc{spans: map[string]bool{}}
	for _, raw := range strings.Split(text, "\n") {
		line := newDocLine(raw)
		for _, s := range line.spans {
			d.spans[s] = true
		}
		if strings.HasPrefix(raw, "#") {
			d.sections = append(d.sections, docSection{heading: line})
			continue
		}
		if len(d.sections) == 0 {
			d.sections = append(d.sections, docSection{})
		}
		last := &d.sections[len(d.sections)-1]
		last.lines = append(last.lines, line)
	}
	return d
}

var (
	spanRE  = regexp.MustCompile("`([^`]+)`")
	identRE = regexp.MustCompile(`[a-z_][a-z0-9_]*`)
)

func (d schemaDoc) hasSpan(s string) bool { return d.spans[s] }

// objectSection is the section that documents the top-level object name:
// the first whose heading names it (### `file`), else the first with a
// line introducing it (`exit`:, `redirect` is:, `target`, the …).
func (d schemaDoc) objectSection(name string) *docSection {
	for i, sec := range d.sections {
		if slices.Contains(sec.heading.spans, name) {
			return &d.sections[i]
		}
	}
	tick := "`" + name + "`"
	for i, sec := range d.sections {
		for _, l := range sec.lines {
			if line := l.text; strings.Contains(line, tick+":") || strings.Contains(line, tick+" is:") ||
				strings.HasPrefix(strings.TrimSpace(line), tick+",") {
				return &d.sections[i]
			}
		}
	}
	return nil
}

// envelopeRow is the row of the Envelope table whose first cell names key.
func (d schemaDoc) envelopeRow(key string) (docLine, bool) {
	for _, sec := range d.sections {
		if !strings.Contains(sec.heading.text, "Envelope") {
			continue
		}
		for _, line := range sec.lines {
			cells := strings.Split(line.text, "|")
			if len(cells) > 2 && slices.Contains(newDocLine(cells[1]).spans, key) {
				return line, true
			}
		}
	}
	return docLine{}, false
}

// documents says why path is not documented, or "" when it is: the
// top-level key in the Envelope table or in a section of its own; a field
// of an object among the names of that object's section; a field of a
// field on the line that documents the field (`executable` … `{dev,
// inode}`); or the whole dotted path anywhere (`syscall.args`). parent has
// the shape of process.
func (d schemaDoc) documents(path string) string {
	segs := strings.Split(path, ".")
	if segs[0] == "parent" {
		segs[0] = "process"
	}
	if d.hasSpan(path) || d.hasSpan(strings.Join(segs, ".")) {
		return ""
	}
	row, inEnvelope := d.envelopeRow(segs[0])
	sec := d.objectSection(segs[0])
	if len(segs) == 1 {
		if inEnvelope || sec != nil {
			return ""
		}
		return "not in the Envelope table, and no section documents it"
	}
	var lines []docLine
	switch {
	case sec != nil:
		lines = sec.lines
	case inEnvelope:
		lines = []docLine{row}
	default:
		return "no section of " + eventsDoc + " documents `" + segs[0] + "`"
	}
	for _, line := range lines {
		if !slices.Contains(line.names, segs[1]) {
			continue
		}
		if len(segs) == 2 || allIn(segs[2:], line.names) {
			return ""
		}
	}
	if len(segs) == 2 {
		return "`" + segs[1] + "` is not among the fields documented for `" + segs[0] + "`"
	}
	return "no line documenting `" + segs[0] + "." + segs[1] + "` names " + strings.Join(segs[2:], ", ")
}

func allIn(want, have []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
