package rule

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Source is one rule file's name (as errors show it) and content.
type Source struct {
	Name string
	Data []byte
}

// isRuleFile says whether a directory entry is loaded as rules.
func isRuleFile(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

// ReadPaths reads rule files in the order given. A directory contributes
// its *.yaml and *.yml files (not its subdirectories) in lexical order.
func ReadPaths(paths []string) ([]Source, error) {
	files, err := expandPaths(paths, "rules")
	if err != nil {
		return nil, err
	}
	var out []Source
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		out = append(out, Source{Name: name, Data: data})
	}
	return out, nil
}

// expandPaths expands files and directories into files, in the order
// given: a directory contributes its *.yaml and *.yml files (not its
// subdirectories) in lexical order. what begins its errors.
func expandPaths(paths []string, what string) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		for _, e := range entries { // ReadDir sorts by name
			if !e.IsDir() && isRuleFile(e.Name()) {
				out = append(out, filepath.Join(p, e.Name()))
			}
		}
	}
	return out, nil
}

// ReadFS reads the rule files directly in dir of fsys, in lexical order;
// prefix is prepended to their names in errors.
func ReadFS(fsys fs.FS, dir, prefix string) ([]Source, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && isRuleFile(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	out := make([]Source, 0, len(names))
	for _, n := range names {
		data, err := fs.ReadFile(fsys, pathJoin(dir, n))
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		out = append(out, Source{Name: prefix + n, Data: data})
	}
	return out, nil
}

func pathJoin(dir, name string) string {
	if dir == "" || dir == "." {
		return name
	}
	return dir + "/" + name
}

// srcText is text from rule files, possibly several pieces joined (a
// condition and what later files appended to it), that remembers where
// each piece came from so that errors point into the right file.
type srcText struct {
	s    string
	segs []segment
	// shift is where s starts in the text the segments describe (a
	// slice of a message template).
	shift int
}

// segment is one piece of a srcText, starting at byte start.
type segment struct {
	start int
	node  *yaml.Node
	file  *Source
}

func newText(n *yaml.Node, file *Source) srcText {
	return srcText{s: n.Value, segs: []segment{{node: n, file: file}}}
}

// appendText joins more to t as "(t) more".
func (t srcText) appendText(more srcText) srcText {
	out := srcText{s: "(" + t.s + ") " + more.s}
	for _, sg := range t.segs {
		sg.start++
		out.segs = append(out.segs, sg)
	}
	for _, sg := range more.segs {
		sg.start += len(t.s) + 3
		out.segs = append(out.segs, sg)
	}
	return out
}

// slice is t.s[a:b], still mapped to the file.
func (t srcText) slice(a, b int) srcText {
	return srcText{s: t.s[a:b], segs: t.segs, shift: t.shift + a}
}

// posAt maps a byte offset in t to a file position.
func (t srcText) posAt(offset int) pos {
	if len(t.segs) == 0 {
		return pos{}
	}
	offset += t.shift
	sg := t.segs[0]
	for _, s := range t.segs[1:] {
		if s.start <= offset {
			sg = s
		}
	}
	rel := max(0, min(offset-sg.start, len(sg.node.Value)))
	line, col := locate(sg.file.Data, sg.node, rel)
	return pos{file: sg.file.Name, line: line, col: col}
}

// start is where t begins.
func (t srcText) start() pos { return t.posAt(0) }

// locate maps an offset into a scalar's value to a line and column in the
// file. Folding and quoting change only whitespace and escapes, so the
// value's non-blank characters are matched one by one against the source.
func locate(src []byte, n *yaml.Node, offset int) (line, col int) {
	lineStarts := []int{0}
	for i, c := range src {
		if c == '\n' {
			lineStarts = append(lineStarts, i+1)
		}
	}
	if n.Line < 1 || n.Line > len(lineStarts) {
		return n.Line, n.Column
	}
	i := min(lineStarts[n.Line-1]+n.Column-1, len(src))
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		for i < len(src) && src[i] != '\n' { // skip the | or > header
			i++
		}
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		i++
	}
	skipBlank := func() {
		for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r') {
			i++
		}
	}
	v := n.Value
	for k := 0; k < offset && k < len(v) && i < len(src); {
		r, size := utf8.DecodeRuneInString(v[k:])
		k += size
		if r == ' ' || r == '\t' || r == '\n' {
			continue
		}
		skipBlank()
		if n.Style == yaml.DoubleQuotedStyle && i < len(src) && src[i] == '\\' && r != '\\' {
			i++ // an escape: count the backslash with the character
		}
		if n.Style == yaml.SingleQuotedStyle && r == '\'' && i+1 < len(src) && src[i+1] == '\'' {
			i++
		}
		if i < len(src) {
			_, s := utf8.DecodeRune(src[i:])
			i += s
		}
	}
	skipBlank()
	line = sort.Search(len(lineStarts), func(j int) bool { return lineStarts[j] > i })
	col = utf8.RuneCount(src[lineStarts[line-1]:min(i, len(src))]) + 1
	return line, col
}
