package event

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestDropsDocumented encodes a drops record with every field set, as the
// outputs do, and checks that every key it writes is named in the
// "`drops` records" section of docs/events.md, and every reason the agent
// reports is in its table.
func TestDropsDocumented(t *testing.T) {
	raw, err := os.ReadFile(eventsDoc)
	if err != nil {
		t.Fatal(err)
	}
	var sec docSection
	found := false
	for _, s := range parseDoc(string(raw)).sections {
		if strings.HasPrefix(s.heading.text, "## ") && strings.Contains(s.heading.text, "`drops`") {
			sec, found = s, true
			break
		}
	}
	if !found {
		t.Fatalf("%s has no ## `drops` section", eventsDoc)
	}
	names := map[string]bool{}
	for _, l := range sec.lines {
		for _, n := range l.names {
			names[n] = true
		}
		for _, s := range l.spans {
			names[s] = true
		}
	}
	d := &Drops{}
	fill(reflect.ValueOf(d).Elem(), 0)
	d.Kind = KindDrops
	out, err := d.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := json.Unmarshal(out, &tree); err != nil {
		t.Fatal(err)
	}
	paths := keyPaths(tree, "", map[string]bool{})
	if len(paths) < 10 {
		t.Fatalf("only %d key paths: %v", len(paths), paths)
	}
	for _, p := range paths {
		segs := strings.Split(p, ".")
		if !names[segs[len(segs)-1]] {
			t.Errorf("%s: not named in the `drops` section of %s", p, eventsDoc)
		}
	}
	reasons := append(DropReasons(), "ringbuf_full", "map_full", "truncated") // internal/ring's
	for _, s := range append(reasons, string(KindDrops), DropStageKernel, DropStagePipeline, DropStageOutput) {
		if !names[s] {
			t.Errorf("%q is not in the `drops` section", s)
		}
	}
}
