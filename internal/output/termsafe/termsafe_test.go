package termsafe

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// hostile holds what an unprivileged process can put in its argv, a file
// name or its comm to act on the terminal of whoever reads vigil's output.
var hostile = []string{
	"\x1b[2J\x1b[H",           // clear the screen, cursor home
	"\x1b]0;pwned\x07",        // retitle the window (OSC … BEL)
	"ok\rroot logged in",      // overwrite the line so far
	"evil\b\b\b\bnice",        // backspace over it
	"\x9b31m",                 // a C1 CSI as a raw byte (not UTF-8)
	"\u009b31m",               // a C1 CSI as UTF-8
	"\u202etxt.exe",           // right-to-left override
	"a\u2066b\u2069c\u200bd",  // bidi isolates, zero width space
	"line\u2028sep",           // Unicode line separator
	"bad\xff\xfeutf8\xc3",     // invalid UTF-8, a cut sequence
	"nul\x00del\x7ftab\tnl\n", // other C0 controls, DEL
	"tag\U000E0041s",          // an invisible tag character
}

func TestEscape(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/usr/bin/cat", "/usr/bin/cat"},
		{"héllo wörld 🚀 ü", "héllo wörld 🚀 ü"},
		{`C:\path`, `C:\path`},
		{"", ""},
		{"\x1b[2J", `\x1b[2J`},
		{"a\rb\nc\td\a\b\f\v", `a\rb\nc\td\a\b\f\v`},
		{"\x00\x7f", `\x00\x7f`},
		{"\x9b", `\x9b`},
		{"\u009b", `\u009b`},
		{"\u202eabc", `\u202eabc`},
		{"\xc3", `\xc3`},
		{"é\xffé", `é\xffé`},
		{"\U000E0041", `\U000e0041`},
		{"\u00a0", `\u00a0`},
	} {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestEscapeLeavesNothingActive(t *testing.T) {
	for _, s := range hostile {
		if bad := active(Escape(s)); bad != "" {
			t.Errorf("Escape(%q) = %q still holds %s", s, Escape(s), bad)
		}
	}
}

func TestEscapeCleanTextDoesNotAllocate(t *testing.T) {
	s := "/usr/lib/x86_64-linux-gnu/libc.so.6 héllo 🚀"
	if n := testing.AllocsPerRun(100, func() { _ = Escape(s) }); n != 0 {
		t.Errorf("Escape of clean text allocates %v times", n)
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Escape(s)
		if bad := active(out); bad != "" {
			t.Fatalf("Escape(%q) = %q holds %s", s, out, bad)
		}
		if Escape(out) != out {
			t.Fatalf("Escape(%q) is not stable: %q then %q", s, out, Escape(out))
		}
		if firstUnsafe(s) < 0 && out != s {
			t.Fatalf("clean %q changed to %q", s, out)
		}
	})
}

// active describes the first thing in s a terminal would act on, or ""
// when there is none. It lists them on its own rather than asking safe,
// so that the test does not trust what it tests.
func active(s string) string {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return "a byte that is not UTF-8"
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return "a control character"
		case unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r):
			return "a format or separator character"
		}
		i += size
	}
	return ""
}

func TestTextKeepsLayout(t *testing.T) {
	in := "rule\tx\x1b[2J\nnext \u202eline\r\n"
	want := "rule\tx\\x1b[2J\nnext \\u202eline\\r\n"
	if got := Text(in); got != want {
		t.Errorf("Text(%q) = %q, want %q", in, got, want)
	}
	if got := Text("plain\n\tline"); got != "plain\n\tline" {
		t.Errorf("clean text changed: %q", got)
	}
}

func TestWriterEscapesEachWrite(t *testing.T) {
	var b strings.Builder
	w := NewWriter(&b)
	n, err := fmt.Fprintf(w, "%s: %s\n", "evil\x1b]0;title\x07", "ok")
	if err != nil || n != len("evil\x1b]0;title\x07: ok\n") {
		t.Fatalf("Fprintf = %d, %v", n, err)
	}
	if got, want := b.String(), "evil\\x1b]0;title\\a: ok\n"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
}
