// Package yamldoc reads a YAML stream of several documents, the way rule
// files and policy files are written: "---" between entries.
package yamldoc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Documents yields the documents of data in order, each as its
// DocumentNode, whose Content holds its root; it skips those without one
// (nothing but comments).
// A syntax error is yielded, with a nil node, as the last value.
func Documents(data []byte) iter.Seq2[*yaml.Node, error] {
	return func(yield func(*yaml.Node, error) bool) {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc yaml.Node
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if len(doc.Content) == 0 {
				continue
			}
			if !yield(&doc, nil) {
				return
			}
		}
	}
}

// Describe says what a node holds, for messages that say what was found
// where something else was wanted: "a mapping", "a list", "nothing" (a
// null), or the scalar quoted — its start only when it is long, since a
// file of junk is one scalar and an error should not repeat all of it.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return quoteStart(n.Value)
	}
	return "something else"
}

// describeMax is how much of a scalar Describe quotes.
const describeMax = 80

func quoteStart(v string) string {
	if len(v) <= describeMax {
		return strconv.Quote(v)
	}
	cut := describeMax
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes in all)", strconv.Quote(v[:cut]), len(v))
}
