package rule

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vigil-sec/vigil/internal/suggest"
)

// Error is one problem in a rule file: where it is, which entry, which
// field, and what is wrong.
type Error struct {
	File   string
	Line   int
	Column int
	// Entry names the entry: "rule shell_in_container", "list shells".
	Entry string
	// Field is the entry's key at fault: "condition", "severity", …
	Field string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	if e.Entry != "" {
		b.WriteString(e.Entry)
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors are all the problems found in a rule set, in file order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sorted orders errors by file, line and column so output is stable.
func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return es
}

// pos is a place in a rule file.
type pos struct {
	file      string
	line, col int
}

// errAt builds an Error at p.
func errAt(p pos, entry, field, format string, args ...any) *Error {
	return &Error{File: p.file, Line: p.line, Column: p.col, Entry: entry, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// didYouMean renders a suggestion suffix, or "".
func didYouMean(s string, candidates []string) string {
	if n := suggest.Nearest(s, candidates); n != "" && n != s {
		return fmt.Sprintf(" (did you mean %s?)", n)
	}
	return ""
}
