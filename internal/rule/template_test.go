package rule

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/output"
)

// TestMessageEscapedOnlyForPeople: a message filled from a hostile argv
// keeps the argv's bytes (the JSON of the alert must say exactly what the
// process ran), and the human formats escape it.
func TestMessageEscapedOnlyForPeople(t *testing.T) {
	rs := mustCompile(t, shellRule)
	arg := "\x1b]0;owned\x07\x1b[2J\rALL CLEAR\u202e"
	alerts := run(rs, Config{}, execEv(0, "/bin/sh", "-c", arg))
	if len(alerts) != 1 {
		t.Fatalf("want 1 alert, got %v", ruleNames(alerts))
	}
	al := alerts[0]
	if !strings.Contains(al.Message, arg) {
		t.Errorf("the message changed the argument: %q", al.Message)
	}
	b, err := al.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	var back struct{ Message string }
	if err := json.Unmarshal(b, &back); err != nil || back.Message != al.Message {
		t.Errorf("JSON message %q (%v), want %q", back.Message, err, al.Message)
	}
	for _, line := range []string{output.AlertText(al), output.Compact{}.Alert(al)} {
		if strings.ContainsAny(line, "\x1b\x07\r\u202e") {
			t.Errorf("a raw control reached a human line: %q", line)
		}
		if !strings.Contains(line, `\x1b]0;owned\a\x1b[2J\rALL CLEAR\u202e`) {
			t.Errorf("the argument is not shown escaped: %q", line)
		}
	}
}
