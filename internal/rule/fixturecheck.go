package rule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/event"
)

// decodedEvents are a test's events, decoded once, with where each one's
// kind is written; err is set when they could not be decoded (a test
// failure, reported by runTest).
type decodedEvents struct {
	events []*event.Event
	pos    []pos
	err    error
}

// setTestPositions records where each test starts and where it names
// rules, for messages.
func setTestPositions(file string, doc *yaml.Node, tests []fixtureTest) {
	if len(doc.Content) == 0 {
		return
	}
	root := resolve(doc.Content[0])
	seq := mappingValue(root, "tests")
	if seq == nil {
		return
	}
	for j, tn := range resolve(seq).Content {
		if j >= len(tests) {
			break
		}
		t := &tests[j]
		tn = resolve(tn)
		t.line = tn.Line
		t.rulePos = valuePos(file, tn, "rule")
		if ex := mappingValue(tn, "expect"); ex != nil {
			for _, item := range resolve(ex).Content {
				t.expectPos = append(t.expectPos, valuePos(file, resolve(item), "rule"))
			}
		}
	}
}

// mappingValue is the value of key in mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// valuePos is where key's value is written in mapping n, or where n is
// when the key is not there (merged in, or missing).
func valuePos(file string, n *yaml.Node, key string) pos {
	if v := mappingValue(n, key); v != nil {
		return pos{file, v.Line, v.Column}
	}
	return pos{file, n.Line, n.Column}
}

// checkFixture finds what would make tests pass for the wrong reason:
// event kinds that do not exist (no rule can match them) and rule names
// that no loaded rule has (nothing can ever alert with them).
func checkFixture(tests []fixtureTest, decoded []decodedEvents, rs *Ruleset) Errors {
	var names []string
	known := map[string]bool{}
	for _, r := range rs.Rules() {
		names = append(names, r.Name)
		known[r.Name] = true
	}
	unknownRule := func(name string) string {
		if name == "" {
			return "missing: name the rule the alert comes from"
		}
		return fmt.Sprintf("no loaded rule is named %q%s", name, didYouMean(name, names))
	}
	kinds := knownKinds()
	var errs Errors
	for i := range tests {
		t := &tests[i]
		entry := fmt.Sprintf("test %q", t.Name)
		if t.Rule != "" && !known[t.Rule] {
			errs = append(errs, errAt(t.rulePos, entry, "rule", "%s", unknownRule(t.Rule)))
		}
		for j, ex := range t.Expect {
			if known[ex.Rule] {
				continue
			}
			p := pos{t.rulePos.file, t.line, 0}
			if j < len(t.expectPos) {
				p = t.expectPos[j]
			}
			errs = append(errs, errAt(p, entry, fmt.Sprintf("expect[%d].rule", j), "%s", unknownRule(ex.Rule)))
		}
		for k, ev := range decoded[i].events {
			field, p := fmt.Sprintf("events[%d].kind", k), decoded[i].pos[k]
			switch k := string(ev.Kind); {
			case k == "":
				errs = append(errs, errAt(p, entry, field, "missing: every event has a kind, e.g. process_exec"))
			case ev.Kind == event.KindAlert:
				errs = append(errs, errAt(p, entry, field, "an alert is not an event: list the alerts a test expects under expect"))
			case !slices.Contains(kinds, k):
				errs = append(errs, errAt(p, entry, field, "unknown event kind %q%s: see docs/events.md for the kinds", k, didYouMean(k, kinds)))
			}
		}
	}
	return errs
}

// decodeFixtureEvents decodes a test's events, rejecting unknown fields
// so that a misspelt field cannot make a test pass. data is the fixture
// file, file its name.
func decodeFixtureEvents(file string, data []byte, n *yaml.Node) decodedEvents {
	var raws [][]byte
	var at []pos
	switch n.Kind {
	case yaml.ScalarNode:
		// a literal block's lines are the file's lines after the |;
		// other styles fold lines, so only the scalar's start is known
		first, exact := n.Line, n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
		if exact {
			first++
		}
		for i, line := range strings.Split(n.Value, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				raws = append(raws, []byte(line))
				p := pos{file, n.Line, n.Column}
				if exact {
					p = kindInLine(file, data, first+i)
				}
				at = append(at, p)
			}
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			var v any
			if err := item.Decode(&v); err != nil {
				return decodedEvents{err: fmt.Errorf("line %d: %w", item.Line, err)}
			}
			raw, err := json.Marshal(jsonable(v))
			if err != nil {
				return decodedEvents{err: fmt.Errorf("line %d: %w", item.Line, err)}
			}
			raws = append(raws, raw)
			at = append(at, valuePos(file, resolve(item), "kind"))
		}
	default:
		return decodedEvents{err: fmt.Errorf("want a list of events or a string of JSON lines")}
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]*event.Event, 0, len(raws))
	for i, raw := range raws {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		ev := &event.Event{}
		if err := dec.Decode(ev); err != nil {
			return decodedEvents{err: fmt.Errorf("event %d: %w", i+1, err)}
		}
		if ev.Time.IsZero() {
			ev.Time = base.Add(time.Duration(i) * time.Second)
			if i > 0 {
				ev.Time = out[i-1].Time.Add(time.Second)
			}
		}
		out = append(out, ev)
	}
	return decodedEvents{events: out, pos: at}
}

// kindInLine is where "kind" is written on line (1-based) of data, or
// the line's first character.
func kindInLine(file string, data []byte, line int) pos {
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return pos{file, line, 0}
	}
	text := lines[line-1]
	i := bytes.Index(text, []byte(`"kind"`))
	if i < 0 {
		i = len(text) - len(bytes.TrimLeft(text, " \t"))
	}
	return pos{file, line, utf8.RuneCount(text[:i]) + 1}
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}
