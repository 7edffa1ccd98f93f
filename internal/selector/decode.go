package selector

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// FieldError is one problem in a scope: the node it is at and the field's
// dotted path below the field Decode was given ("scope.podSelector.
// matchExpressions[0].operator"). Callers add the file name.
type FieldError struct {
	Line, Column int
	Field        string
	Msg          string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%d:%d: %s: %s", e.Line, e.Column, e.Field, e.Msg)
}

// Decode reads a scope written as Kubernetes writes its selectors:
//
//	namespaces: [prod, payments]     # or namespace: prod
//	podSelector:
//	  matchLabels: {app: web}
//	  matchExpressions:
//	    - {key: tier, operator: In, values: [frontend]}
//	containers: [nginx]              # or containerSelector: {names: [nginx]}
//
// namespace (one name) and containerSelector (a mapping whose names are
// the container names, as policy files write it, leaving room for other
// criteria) are the spellings of the Kubernetes issue; namespaces and
// containers are the shorter ones rule scopes use. Each pair is one
// criterion: giving both of a pair is an error. field names n in errors.
// Every problem is reported, not only the first.
func Decode(n *yaml.Node, field string) (*Pods, []*FieldError) {
	d := &decoder{}
	p := d.pods(n, field)
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	return p, nil
}

// Keys are the keys Decode reads in a scope.
func Keys() []string {
	return []string{"namespace", "namespaces", "podSelector", "containers", "containerSelector"}
}

type decoder struct{ errs []*FieldError }

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{Line: n.Line, Column: n.Column, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// mapping returns n's keys; a key outside allowed or given twice is an error.
func (d *decoder) mapping(n *yaml.Node, field string, allowed ...string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, field, "want a mapping with %v, got %s", allowed, yamldoc.Describe(n))
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch _, dup := out[k.Value]; {
		case !slices.Contains(allowed, k.Value):
			d.errorf(k, field, "unknown key %q; want one of %v", k.Value, allowed)
		case dup:
			d.errorf(k, field+"."+k.Value, "given twice")
		default:
			out[k.Value] = v
		}
	}
	return out
}

func (d *decoder) pods(n *yaml.Node, field string) *Pods {
	keys := d.mapping(n, field, Keys()...)
	p := &Pods{}
	switch one, many := keys["namespace"], keys["namespaces"]; {
	case one != nil && many != nil:
		d.errorf(one, field+".namespace", "give namespace (one) or namespaces (a list), not both")
	case one != nil:
		if one.Kind != yaml.ScalarNode || one.Tag == "!!null" {
			d.errorf(one, field+".namespace", "want a namespace name, got %s (namespaces takes a list)", yamldoc.Describe(one))
		} else if err := checkDNSLabel(one.Value); err != nil {
			d.errorf(one, field+".namespace", "%v", err)
		} else {
			p.Namespaces = []string{one.Value}
		}
	case many != nil:
		p.Namespaces = d.names(many, field+".namespaces")
	}
	if v := keys["podSelector"]; v != nil {
		p.PodSelector = d.labelSelector(v, field+".podSelector")
	}
	switch list, sel := keys["containers"], keys["containerSelector"]; {
	case list != nil && sel != nil:
		d.errorf(sel, field+".containerSelector", "give containers (a list) or containerSelector, not both")
	case list != nil:
		p.Containers = d.names(list, field+".containers")
	case sel != nil:
		f := field + ".containerSelector"
		ck := d.mapping(sel, f, "names")
		if sel.Kind == yaml.MappingNode && len(sel.Content) == 0 {
			d.errorf(sel, f+".names", "missing: list the container names (names: [nginx])")
		} else if v := ck["names"]; v != nil {
			p.Containers = d.names(v, f+".names")
		}
	}
	return p
}

// names reads a non-empty list of namespace or container names.
func (d *decoder) names(n *yaml.Node, field string) []string {
	out := d.strings(n, field)
	if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		d.errorf(n, field, "empty list: it would match nothing; leave the key out to match any")
	}
	for i, s := range out {
		if err := checkDNSLabel(s); err != nil {
			d.errorf(n.Content[i], fmt.Sprintf("%s[%d]", field, i), "%v", err)
		}
	}
	return out
}

// strings reads a list of strings (a list of scalars).
func (d *decoder) strings(n *yaml.Node, field string) []string {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, field, "want a list of strings, got %s", yamldoc.Describe(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		if c.Kind != yaml.ScalarNode || c.Tag == "!!null" {
			d.errorf(c, fmt.Sprintf("%s[%d]", field, i), "want a string, got %s", yamldoc.Describe(c))
		}
		out = append(out, c.Value)
	}
	return out
}

func (d *decoder) labelSelector(n *yaml.Node, field string) *LabelSelector {
	keys := d.mapping(n, field, "matchLabels", "matchExpressions")
	s := &LabelSelector{}
	if v := keys["matchLabels"]; v != nil {
		s.MatchLabels = d.matchLabels(v, field+".matchLabels")
	}
	if v := keys["matchExpressions"]; v != nil {
		if v.Kind != yaml.SequenceNode {
			d.errorf(v, field+".matchExpressions", "want a list of {key, operator, values}, got %s", yamldoc.Describe(v))
			return s
		}
		for i, c := range v.Content {
			s.MatchExpressions = append(s.MatchExpressions, d.requirement(c, fmt.Sprintf("%s.matchExpressions[%d]", field, i)))
		}
	}
	return s
}

func (d *decoder) matchLabels(n *yaml.Node, field string) map[string]string {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, field, "want a mapping of label keys to values, got %s", yamldoc.Describe(n))
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f := field + "." + k.Value
		if _, dup := out[k.Value]; dup {
			d.errorf(k, f, "given twice")
			continue
		}
		if err := checkLabelKey(k.Value); err != nil {
			d.errorf(k, f, "%v", err)
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			d.errorf(v, f, "want a label value (a string), got %s", yamldoc.Describe(v))
		} else if err := checkLabelValue(v.Value); err != nil {
			d.errorf(v, f, "%v", err)
		}
		out[k.Value] = v.Value
	}
	return out
}

func (d *decoder) requirement(n *yaml.Node, field string) Requirement {
	keys := d.mapping(n, field, "key", "operator", "values")
	var r Requirement
	if n.Kind != yaml.MappingNode {
		return r
	}
	if v := keys["key"]; v == nil {
		d.errorf(n, field+".key", "missing")
	} else if r.Key = v.Value; v.Kind != yaml.ScalarNode {
		d.errorf(v, field+".key", "want a label key, got %s", yamldoc.Describe(v))
	} else if err := checkLabelKey(r.Key); err != nil {
		d.errorf(v, field+".key", "%v", err)
	}
	op := keys["operator"]
	if op == nil {
		d.errorf(n, field+".operator", "missing; want one of %v", Operators())
		return r
	}
	r.Operator = Operator(op.Value)
	if !slices.Contains(Operators(), op.Value) {
		d.errorf(op, field+".operator", "unknown operator %s; want one of %v (as in Kubernetes, case matters)", yamldoc.Describe(op), Operators())
		return r
	}
	vals := keys["values"]
	if vals != nil {
		r.Values = d.strings(vals, field+".values")
		for i, s := range r.Values {
			if err := checkLabelValue(s); err != nil && i < len(vals.Content) {
				d.errorf(vals.Content[i], fmt.Sprintf("%s.values[%d]", field, i), "%v", err)
			}
		}
	}
	switch r.Operator {
	case In, NotIn:
		if len(r.Values) == 0 {
			at := n
			if vals != nil {
				at = vals
			}
			d.errorf(at, field+".values", "%s needs at least one value", r.Operator)
		}
	case Exists, DoesNotExist:
		if vals != nil && len(vals.Content) > 0 {
			d.errorf(vals, field+".values", "%s takes no values", r.Operator)
		}
	}
	return r
}
