package output

import (
	"slices"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// eventKinds are the event kinds of internal/event's table, records
// aside: a kind added there and forgotten here fails these tests.
func eventKinds(t *testing.T) []event.Kind {
	t.Helper()
	out := event.KindsWhere(func(row event.KindInfo) bool { return !row.Record })
	if len(out) < 30 {
		t.Fatalf("found %d kinds in internal/event's table", len(out))
	}
	return out
}

func TestKindsAreEveryOutputKind(t *testing.T) {
	kinds := Kinds()
	for _, k := range append(eventKinds(t), event.KindAlert) {
		row, _ := event.LookupKind(k)
		if k == event.KindProcessFork || k == event.KindAlert || !row.Output {
			if slices.Contains(kinds, k) {
				t.Errorf("%s is listed, but never reaches an output as an event", k)
			}
			continue
		}
		if !slices.Contains(kinds, k) {
			t.Errorf("%s is a kind of internal/event that Kinds leaves out", k)
		}
	}
	for _, k := range kinds {
		if icon, _ := KindIcon(k); icon == "❓" {
			t.Errorf("%s has no icon", k)
		}
		if got, err := ParseKind(string(k)); err != nil || got != k {
			t.Errorf("ParseKind(%s) = %s, %v", k, got, err)
		}
	}
}

func TestParseKindSaysWhatIsValid(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"proces_exec", "did you mean process_exec?"},
		{"net_conect", "did you mean net_connect?"},
		{"exec", "did you mean process_exec?"},
		{"bogus", "valid kinds: process_exec, process_exit, process_rename, process_signal, file_xattr"},
		{"process_fork", "forks only feed the process cache"},
		{"alert", "type=alerts"},
	} {
		_, err := ParseKind(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseKind(%q): %v: want it to say %q", c.in, err, c.want)
		}
	}
	if _, err := ParseKind("bogus"); strings.Contains(err.Error(), "did you mean") {
		t.Errorf("a far-fetched suggestion: %v", err)
	}
}
