// Package termsafe makes untrusted text safe to show on a terminal.
//
// Events carry what unprivileged processes chose: arguments, file names,
// process names. Written raw, an escape sequence among them would let a
// process retitle, clear or rewrite the operator's terminal, a carriage
// return or backspace would let it overwrite the line that reports it,
// and a bidi override would reorder what the operator reads. Every
// human-readable output passes such text through Escape; machine formats
// (JSON) keep the original bytes.
package termsafe

import (
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape returns s with everything a terminal could act on written as a
// visible Go-style escape: C0 and C1 controls and DEL (\x1b, \r, \a,
// \u009b), bytes that are not UTF-8 (\x9b), and other code points that are
// not printable, among them bidi overrides, zero-width and line-separator
// characters (\u202e, \u200b, \u2028). Printable text, the ASCII space
// and backslashes are kept as they are, so ordinary paths read unchanged.
// Text without anything to escape is returned as is, without allocating.
func Escape(s string) string {
	i := firstUnsafe(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			writeHex(&b, `\x`, uint32(s[i]), 2)
		case safe(r):
			b.WriteString(s[i : i+size])
		default:
			writeRune(&b, r)
		}
		i += size
	}
	return b.String()
}

// firstUnsafe is the index of the first byte that needs escaping, or -1.
func firstUnsafe(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			return i
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !safe(r) {
			return i
		}
		i += size
	}
	return -1
}

// safe says whether a terminal shows r as itself. unicode.IsPrint leaves
// out controls (Cc), format characters (Cf: bidi, zero-width), separators
// other than the ASCII space, private-use and unassigned code points.
func safe(r rune) bool {
	return r == ' ' || unicode.IsPrint(r)
}

// escapes are the controls with a C escape of their own: \a through \r.
var escapes = [...]string{'\a': `\a`, '\b': `\b`, '\t': `\t`, '\n': `\n`, '\v': `\v`, '\f': `\f`, '\r': `\r`}

func writeRune(b *strings.Builder, r rune) {
	switch {
	case r >= 0 && int(r) < len(escapes) && escapes[r] != "":
		b.WriteString(escapes[r])
	case r < 0x80:
		writeHex(b, `\x`, uint32(r), 2)
	case r <= 0xffff:
		writeHex(b, `\u`, uint32(r), 4)
	default:
		writeHex(b, `\U`, uint32(r), 8)
	}
}

func writeHex(b *strings.Builder, prefix string, v uint32, digits int) {
	const hex = "0123456789abcdef"
	b.WriteString(prefix)
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b.WriteByte(hex[v>>uint(shift)&0xf])
	}
}

// Text is Escape for text of several lines: newlines and tabs stay, so a
// report keeps its layout, and everything else Escape rewrites is escaped.
func Text(s string) string {
	if firstUnsafe(s) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for {
		i := strings.IndexAny(s, "\n\t")
		if i < 0 {
			b.WriteString(Escape(s))
			return b.String()
		}
		b.WriteString(Escape(s[:i]))
		b.WriteByte(s[i])
		s = s[i+1:]
	}
}

// Writer escapes, as Text does, everything written through it. A command
// whose report mixes its own words with names and messages from files or
// processes writes through one, so that no field can be forgotten. Each
// Write is escaped on its own: callers write whole strings (fmt, tabwriter).
type Writer struct{ w io.Writer }

// NewWriter wraps w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write escapes p and writes it; it reports len(p) when all of it went out.
func (t *Writer) Write(p []byte) (int, error) {
	s := Text(string(p))
	if _, err := io.WriteString(t.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}
