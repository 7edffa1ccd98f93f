package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
)

// hostile is what an unprivileged process can put in its argv, its file
// names or its comm to act on the terminal of whoever reads vigil.
var hostile = []string{
	"\x1b[2J\x1b[H",          // clear the screen
	"\x1b]0;pwned\x07",       // retitle the window
	"ok\rALL CLEAR",          // overwrite the line
	"evil\b\b\b\bnice",       // backspace over it
	"\x9b31m",                // C1 CSI, a raw byte
	"\u009b31m",              // C1 CSI, UTF-8
	"\u202egpj.exe",          // right-to-left override
	"a\u2066b\u2069\u200bc",  // bidi isolates, zero width space
	"line\nfake event",       // a second line
	"bad\xff\xfeutf8\xc3",    // not UTF-8
	"nul\x00del\x7f\ttab\vv", // other controls
}

// rawControl describes the first thing in s a terminal acts on, or "".
// It lists them itself rather than trusting termsafe.
func rawControl(s string) string {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return fmt.Sprintf("byte %#x (not UTF-8)", s[i])
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return fmt.Sprintf("control %U", r)
		case unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			return fmt.Sprintf("format character %U", r)
		}
		i += size
	}
	return ""
}

func hostileEvent(s string) *event.Event {
	return &event.Event{Kind: event.KindFileRename, Node: s,
		Process: &event.Process{PID: 7, Comm: s, Binary: "/tmp/" + s, Args: []string{s, s, "-x" + s}, Cwd: "/home/" + s,
			Container: &event.Container{ID: "abc" + s, Runtime: s, Name: s}, Truncated: []string{s}},
		Parent:      &event.Process{PID: 1, Binary: "/bin/" + s},
		Syscall:     &event.Syscall{Name: s, Ret: -1, Error: s},
		File:        &event.File{Path: "/etc/" + s, NewPath: "/tmp/" + s, Flags: []string{s}, Truncated: []string{s}},
		Enforcement: &event.Enforcement{Policy: s, Rule: s, Action: event.Action(s), Error: s},
	}
}

// TestHumanFormatsEscape feeds hostile argv, paths and names through the
// text and compact formats (events and alerts, through the Encoder the
// file and syslog sinks use too) and checks no raw control reaches the
// line, while JSON keeps the original strings.
func TestHumanFormatsEscape(t *testing.T) {
	for _, s := range hostile {
		ev := hostileEvent(s)
		al := &event.Alert{Kind: event.KindAlert, Message: "shell " + s + " in container", Action: event.Action(s),
			Rule: event.RuleRef{Name: s, Severity: event.Severity(s)}, Event: ev}
		enc := NewEncoder(FormatText)
		encEv, _ := enc.Event(ev)
		encEv = bytes.Clone(encEv)
		encAl, _ := enc.Alert(al)
		lines := map[string]string{
			"Text":          Text(ev),
			"AlertText":     AlertText(al),
			"Compact.Event": Compact{}.Event(ev),
			"Compact.Alert": Compact{}.Alert(al),
			"color Event":   stripANSI(Compact{Color: true}.Event(ev)),
			"color Alert":   stripANSI(Compact{Color: true}.Alert(al)),
			"Encoder event": string(encEv),
			"Encoder alert": string(encAl),
		}
		for name, line := range lines {
			if bad := rawControl(line); bad != "" {
				t.Errorf("%s of %q holds a raw %s: %q", name, s, bad, line)
			}
		}
		if path := "/etc/" + termsafe.Escape(s); !strings.Contains(Text(ev), path) || !strings.Contains(Compact{}.Event(ev), path) {
			t.Errorf("a line lost the path %q:\n%s\n%s", path, Text(ev), Compact{}.Event(ev))
		}

		// JSON keeps the bytes; only JSON's own rules apply (a byte that
		// is not UTF-8 cannot be in a JSON string and becomes U+FFFD).
		want := jsonString(s)
		b, err := ev.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		var back event.Event
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("JSON of %q: %v", s, err)
		}
		if back.Process.Args[1] != want || back.File.Path != "/etc/"+want || back.Process.Comm != want {
			t.Errorf("JSON changed %q: args %q, path %q, comm %q", s, back.Process.Args[1], back.File.Path, back.Process.Comm)
		}
		b, err = al.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		var alBack event.Alert
		if err := json.Unmarshal(b, &alBack); err != nil {
			t.Fatalf("alert JSON of %q: %v", s, err)
		}
		if alBack.Message != "shell "+want+" in container" {
			t.Errorf("alert JSON changed the message of %q: %q", s, alBack.Message)
		}
	}
}

// jsonString is s as any JSON encoder must carry it: each byte that is
// not UTF-8 replaced by U+FFFD, everything else exact.
func jsonString(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r)
		i += size
	}
	return b.String()
}

// stripANSI drops the colour escapes the compact format writes itself.
func stripANSI(s string) string {
	for _, c := range []string{ansiReset, ansiBold, ansiDim, ansiRed, ansiGreen, ansiYellow, ansiBlue, ansiPurple, ansiCyan} {
		s = strings.ReplaceAll(s, c, "")
	}
	return s
}
