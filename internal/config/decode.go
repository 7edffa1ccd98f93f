package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// Error is one problem in a config file, with where it is.
type Error struct {
	File  string
	Line  int
	Field string // dotted path: outputs[1].webhook.url
	Msg   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
}

// decoder walks YAML nodes, collecting every problem with its position.
type decoder struct {
	file string
	errs []error
}

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) err() error { return errors.Join(d.errs...) }

// mapping returns the keys of a mapping node, refusing unknown and
// repeated keys. ok is false when n is not a mapping.
func (d *decoder) mapping(n *yaml.Node, field string, allowed ...string) (map[string]*yaml.Node, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, field, "want a mapping (key: value lines), got %s", yamldoc.Describe(n))
		return nil, false
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := join(field, k.Value)
		switch {
		case !slices.Contains(allowed, k.Value):
			d.errorf(k, name, "unknown field; valid fields here: %s", strings.Join(allowed, ", "))
		case out[k.Value] != nil:
			d.errorf(k, name, "set twice")
		default:
			out[k.Value] = v
		}
	}
	return out, true
}

// sequence returns the items of a sequence node.
func (d *decoder) sequence(n *yaml.Node, field string) []*yaml.Node {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, field, "want a list, got %s", yamldoc.Describe(n))
		return nil
	}
	return n.Content
}

func (d *decoder) str(n *yaml.Node, field string) string {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, field, "want a string, got %s", yamldoc.Describe(n))
		return ""
	}
	return n.Value
}

func (d *decoder) boolean(n *yaml.Node, field string) bool {
	n = resolve(n)
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		d.errorf(n, field, "want true or false, got %s", yamldoc.Describe(n))
	}
	return b
}

// atLeast reads whole numbers of min or more, for decodeKey.
func (d *decoder) atLeast(min int) func(n *yaml.Node, field string) int {
	return func(n *yaml.Node, field string) int { return d.integer(n, field, min) }
}

func (d *decoder) integer(n *yaml.Node, field string, min int) int {
	n = resolve(n)
	i, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		d.errorf(n, field, "want a whole number, got %s", yamldoc.Describe(n))
		return 0
	}
	if i < min {
		d.errorf(n, field, "%d is too small: want at least %d", i, min)
	}
	return i
}

func (d *decoder) duration(n *yaml.Node, field string) time.Duration {
	s := d.str(n, field)
	if s == "" {
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		d.errorf(n, field, "%q is not a duration: want e.g. 500ms, 10s, 2m", s)
	}
	return v
}

// size reads a byte size (ParseSize).
func (d *decoder) size(n *yaml.Node, field string) int64 {
	s := strings.TrimSpace(d.str(n, field))
	if s == "" {
		return 0
	}
	v, err := ParseSize(s)
	if err != nil {
		d.errorf(n, field, "%v", err)
	}
	return v
}

func (d *decoder) strings(n *yaml.Node, field string) []string {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value} // a single value where a list is expected
	}
	var out []string
	for i, item := range d.sequence(n, field) {
		out = append(out, d.str(item, fmt.Sprintf("%s[%d]", field, i)))
	}
	return out
}

func (d *decoder) stringMap(n *yaml.Node, field string) map[string]string {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, field, "want a mapping, got %s", yamldoc.Describe(n))
		return nil
	}
	out := make(map[string]string)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		out[k] = d.str(n.Content[i+1], join(field, k))
	}
	return out
}

// resolve follows an alias to what it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// decodeKey reads key of the mapping keys (at field), when it is there,
// into dst with read.
func decodeKey[T any](keys map[string]*yaml.Node, field, key string, dst *T, read func(*yaml.Node, string) T) {
	if v := keys[key]; v != nil {
		*dst = read(v, join(field, key))
	}
}

// parsed reads a string that parse turns into a T; parse's error is the
// field's.
func parsed[T any](d *decoder, parse func(string) (T, error)) func(*yaml.Node, string) T {
	return func(n *yaml.Node, field string) T {
		v, err := parse(d.str(n, field))
		if err != nil {
			d.errorf(n, field, "%v", err)
		}
		return v
	}
}
