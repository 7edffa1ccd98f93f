package rule

import (
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/selector"
	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// Action is what a rule asks vigil to do when it matches.
type Action string

const (
	// ActionAlert reports the match.
	ActionAlert Action = "alert"
	// ActionKill kills the process; wired by the enforcement stage.
	ActionKill Action = "kill"
	// ActionDeny makes the operation fail; wired by the enforcement stage.
	ActionDeny Action = "deny"
)

// severities in ascending order.
func severities() []string {
	return []string{"info", "low", "medium", "high", "critical"}
}

// listDef is a named list of values.
type listDef struct {
	name  string
	at    pos
	items []listItem
}

func (l *listDef) defName() string  { return l.name }
func (m *macroDef) defName() string { return m.name }
func (r *ruleDef) defName() string  { return r.name }

type listItem struct {
	val   string
	isInt bool
	at    pos
}

// macroDef is a named boolean CEL fragment.
type macroDef struct {
	name string
	at   pos
	cond srcText
}

// trackDef is a bounded table of recent keys that conditions query with
// tracked() and tracked_count().
type trackDef struct {
	name        string
	description string
	at          pos
	cond, key   srcText
	value       srcText
	hasValue    bool
	window      time.Duration
	maxKeys     int
}

// ruleDef is a rule after every file's append and override is applied.
type ruleDef struct {
	name        string
	at          pos
	description string
	cond        srcText
	severity    event.Severity
	tags        []string
	message     srcText
	hasMessage  bool
	enabled     bool
	exceptions  []*exceptionDef
	action      Action
	scope       *selector.Pods
	// fields remembers each key's entry, for errors about that key.
	fields map[string]*entry
}

// exceptionDef suppresses a rule's match when the event's fields equal (or
// compare, per comps) one of the rows of values.
type exceptionDef struct {
	name   string
	at     pos
	fields []string
	comps  []string
	rows   [][]exceptionCell
	entry  *entry
}

// exceptionCell is one value of a row; a list for the "in" comparison.
type exceptionCell struct {
	vals  []string
	isInt bool
	// scalar says the cell was one value, not a list; for the "in"
	// comparison it names a list.
	scalar bool
	at     pos
}

// exceptionComps are the comparisons an exception field may use.
func exceptionComps() []string {
	return []string{"=", "!=", "in", "startswith", "endswith", "contains", "glob"}
}

// parseExceptions reads a rule entry's exceptions.
func parseExceptions(e *entry) ([]*exceptionDef, Errors) {
	n, ok := e.values["exceptions"]
	if !ok {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, Errors{e.errf("exceptions", "want a list of {name, fields, comps, values}")}
	}
	var out []*exceptionDef
	var errs Errors
	for _, item := range n.Content {
		x, err := parseException(e, item)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, x)
	}
	return out, errs
}

func parseException(e *entry, n *yaml.Node) (*exceptionDef, *Error) {
	bad := func(at *yaml.Node, format string, args ...any) *Error {
		return errAt(e.posOf(at), e.label(), "exceptions", format, args...)
	}
	if n.Kind != yaml.MappingNode {
		return nil, bad(n, "an exception is a mapping with name, fields, comps and values")
	}
	x := &exceptionDef{at: e.posOf(n), entry: e}
	var valuesNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "name":
			x.name = v.Value
		case "fields", "comps":
			list := []string{v.Value}
			if v.Kind == yaml.SequenceNode {
				var err *Error
				if list, err = scalarList(e, "exceptions", v); err != nil {
					return nil, err
				}
			} else if v.Kind != yaml.ScalarNode {
				return nil, bad(v, "%s: want a list", k.Value)
			}
			if k.Value == "fields" {
				x.fields = list
				continue
			}
			for _, c := range list {
				if !slices.Contains(exceptionComps(), c) {
					return nil, bad(v, "comps: unknown comparison %q; valid: %s", c, strings.Join(exceptionComps(), " "))
				}
			}
			x.comps = list
		case "values":
			valuesNode = v
		default:
			return nil, bad(k, "unknown key %q%s; valid: name, fields, comps, values", k.Value,
				didYouMean(k.Value, []string{"name", "fields", "comps", "values"}))
		}
	}
	if x.name == "" {
		return nil, bad(n, "an exception needs a name")
	}
	if valuesNode != nil {
		if valuesNode.Kind != yaml.SequenceNode {
			return nil, bad(valuesNode, "values: want a list of rows")
		}
		for _, row := range valuesNode.Content {
			cells, err := parseRow(e, row, bad)
			if err != nil {
				return nil, err
			}
			x.rows = append(x.rows, cells)
		}
	}
	return x, nil
}

// parseRow reads one row of exception values: a list of cells, or a bare
// scalar for single-field exceptions.
func parseRow(e *entry, row *yaml.Node, bad func(*yaml.Node, string, ...any) *Error) ([]exceptionCell, *Error) {
	cellOf := func(c *yaml.Node) (exceptionCell, *Error) {
		switch c.Kind {
		case yaml.ScalarNode:
			return exceptionCell{vals: []string{c.Value}, isInt: c.Tag == "!!int", scalar: true, at: e.posOf(c)}, nil
		case yaml.SequenceNode:
			vals, err := scalarList(e, "exceptions", c)
			return exceptionCell{vals: vals, at: e.posOf(c), isInt: len(c.Content) > 0 && c.Content[0].Tag == "!!int"}, err
		}
		return exceptionCell{}, bad(c, "values: want a value or a list of values, got %s", yamldoc.Describe(c))
	}
	if row.Kind == yaml.ScalarNode {
		c, err := cellOf(row)
		return []exceptionCell{c}, err
	}
	if row.Kind != yaml.SequenceNode {
		return nil, bad(row, "values: each row is a list with one value per field")
	}
	cells := make([]exceptionCell, 0, len(row.Content))
	for _, c := range row.Content {
		cell, err := cellOf(c)
		if err != nil {
			return nil, err
		}
		cells = append(cells, cell)
	}
	return cells, nil
}
