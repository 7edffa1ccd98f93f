package rule

import (
	"fmt"
	"sort"
	"strings"
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

// nearest returns the candidate closest to s by edit distance, if it is
// close enough to be a plausible typo.
func nearest(s string, candidates []string) string {
	best, bestD := "", max(3, len(s)/3+1)
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	return best
}

// didYouMean renders a suggestion suffix, or "".
func didYouMean(s string, candidates []string) string {
	if n := nearest(s, candidates); n != "" && n != s {
		return fmt.Sprintf(" (did you mean %s?)", n)
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
