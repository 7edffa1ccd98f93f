package rule

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// syntaxError places a YAML syntax error in the file. The YAML library
// says only "line N", and that line is the start of the enclosing
// structure (or the line before the problem) as often as the problem's
// own, and never a column. So the place is found again: the shortest
// prefix of the file that fails with the same problem ends where the
// problem is, first at a line's end, then within that line.
func syntaxError(file string, data []byte, err error) *Error {
	problem := yamlProblem(err)
	e := &Error{File: file, Msg: "invalid YAML: " + problem}
	same := func(n int) bool {
		err := decodeAll(data[:n])
		return err != nil && yamlProblem(err) == problem
	}
	starts := lineStarts(data)
	ends := make([]int, len(starts)) // each line's end, its newline included
	for i := range starts {
		ends[i] = len(data)
		if i+1 < len(starts) {
			ends[i] = starts[i+1]
		}
	}
	line := sort.Search(len(ends), func(i int) bool { return same(ends[i]) })
	if line == len(ends) {
		return e // the problem needs the whole file: no better place
	}
	e.Line = line + 1
	text := data[starts[line]:ends[line]]
	if name, ok := strings.CutPrefix(problem, "unknown anchor '"); ok {
		// found only once the alias's name is complete: point at the *
		if i := bytes.Index(text, []byte("*"+strings.TrimSuffix(name, "' referenced"))); i >= 0 {
			e.Column = utf8.RuneCount(text[:i]) + 1
			return e
		}
	}
	e.Column = utf8.RuneCount(bytes.TrimRight(text, "\r\n")) + 1
	for col, off := 1, 0; off < len(text); col++ {
		_, size := utf8.DecodeRune(text[off:])
		off += size
		if same(starts[line] + off) {
			e.Column = col
			break
		}
	}
	return e
}

var yamlWhere = regexp.MustCompile(`^yaml: (line \d+: )?`)

// yamlProblem is a YAML error's message without the library's prefix and
// line.
func yamlProblem(err error) string {
	return yamlWhere.ReplaceAllString(err.Error(), "")
}

// decodeAll decodes every document in data, returning the first error.
func decodeAll(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' && i+1 < len(data) {
			starts = append(starts, i+1)
		}
	}
	return starts
}
