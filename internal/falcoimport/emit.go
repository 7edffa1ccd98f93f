package falcoimport

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/rule"
	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// baseNames are the names the base files define.
func baseNames(base []rule.Source) (map[string]bool, error) {
	taken := map[string]bool{}
	for _, src := range base {
		for doc, err := range yamldoc.Documents(src.Data) {
			if err != nil {
				return nil, fmt.Errorf("%s: %w", src.Name, err)
			}
			root := doc.Content[0]
			if root.Kind != yaml.SequenceNode {
				continue
			}
			for _, item := range root.Content {
				for i := 0; i+1 < len(item.Content); i += 2 {
					switch item.Content[i].Value {
					case "rule", "list", "macro", "track":
						taken[item.Content[i+1].Value] = true
					}
				}
			}
		}
	}
	return taken, nil
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

func typed(s, tag string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s, Tag: tag} }

func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Content: items}
}

func mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(kv); i += 2 {
		v, ok := kv[i+1].(*yaml.Node)
		if !ok {
			v = scalar(kv[i+1].(string))
		}
		m.Content = append(m.Content, scalar(kv[i].(string)), v)
	}
	return m
}

// item renders a list item or exception value of type typ.
func item(s string, typ ftype) *yaml.Node {
	switch typ {
	case tInt:
		lit, _ := literal(tInt, s)
		return typed(lit, "!!int")
	case tBool:
		lit, _ := literal(tBool, s)
		return typed(lit, "!!bool")
	}
	return typed(s, "!!str")
}

// emit writes the translated entries as a vigil rule file.
func emit(rs *ruleSet, res *Result, files []File) []byte {
	ok := map[any]bool{}
	for _, x := range rs.order {
		switch d := x.(type) {
		case *listDef:
			ok[d] = true
		case *macroDef:
			ok[d] = len(d.probs) == 0
		case *ruleDef:
			ok[d] = len(d.probs) == 0
		}
	}
	root := &yaml.Node{Kind: yaml.SequenceNode}
	for _, x := range rs.order {
		if !ok[x] {
			continue
		}
		var n *yaml.Node
		switch d := x.(type) {
		case *listDef:
			typ := tString
			if d.numeric {
				typ = tInt
			}
			items := make([]*yaml.Node, 0, len(d.flat))
			for _, it := range d.flat {
				items = append(items, item(it, typ))
			}
			n = mapping("list", d.outName, "items", seq(items...))
		case *macroDef:
			n = mapping("macro", d.outName, "condition", d.out)
		case *ruleDef:
			n = ruleNode(d)
		}
		n.HeadComment = headComment(x)
		root.Content = append(root.Content, n)
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root},
		HeadComment: "Translated from Falco rules by vigil rules import-falco: " + strings.Join(names, ", ") +
			fmt.Sprintf("\n%d entries translated, %d left out (see the command's report)", len(res.Translated), len(res.Skipped))}
	if len(root.Content) == 0 {
		doc.Content = []*yaml.Node{{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		panic(err) // a node tree built above always encodes
	}
	return b.Bytes()
}

func headComment(x any) string {
	var name, out string
	var at where
	var notes []string
	switch d := x.(type) {
	case *listDef:
		name, out, at = d.name, d.outName, d.at
	case *macroDef:
		name, out, at, notes = d.name, d.outName, d.at, d.notes
	case *ruleDef:
		name, out, at, notes = d.name, d.outName, d.at, d.notes
	}
	lines := []string{"falco: " + at.String()}
	if name != out {
		lines[0] += " (" + name + ")"
	}
	for _, n := range notes {
		lines = append(lines, "note: "+n)
	}
	return strings.Join(lines, "\n")
}

func ruleNode(d *ruleDef) *yaml.Node {
	desc := strings.Join(strings.Fields(d.desc), " ")
	if desc == "" {
		desc = d.name
	}
	n := mapping("rule", d.outName, "description", desc, "condition", d.out, "severity", d.severity)
	if len(d.tags) > 0 {
		tags := make([]*yaml.Node, len(d.tags))
		for i, t := range d.tags {
			tags[i] = typed(t, "!!str")
		}
		n.Content = append(n.Content, scalar("tags"), seq(tags...))
	}
	if d.message != "" {
		n.Content = append(n.Content, scalar("message"), typed(d.message, "!!str"))
	}
	if d.enabled != nil {
		n.Content = append(n.Content, scalar("enabled"), typed(fmt.Sprint(*d.enabled), "!!bool"))
	}
	if len(d.native) > 0 {
		var xs []*yaml.Node
		for _, x := range d.native {
			xs = append(xs, exceptionNode(x))
		}
		n.Content = append(n.Content, scalar("exceptions"), &yaml.Node{Kind: yaml.SequenceNode, Content: xs})
	}
	return n
}

func exceptionNode(x nativeException) *yaml.Node {
	cell := func(c cellDef, i int) *yaml.Node {
		if c.list {
			items := make([]*yaml.Node, len(c.items))
			for j, it := range c.items {
				items[j] = item(it, x.types[i])
			}
			return seq(items...)
		}
		if name, ok := x.lists[c.text]; ok {
			return typed(name, "!!str")
		}
		return item(c.text, x.types[i])
	}
	var rows []*yaml.Node
	for _, row := range x.rows {
		if x.single {
			rows = append(rows, cell(row[0], 0))
			continue
		}
		cells := make([]*yaml.Node, len(row))
		for i, c := range row {
			cells[i] = cell(c, i)
		}
		rows = append(rows, seq(cells...))
	}
	n := mapping("name", x.name)
	if x.single {
		n.Content = append(n.Content, scalar("fields"), scalar(x.fields[0]), scalar("comps"), typed(x.comps[0], "!!str"))
	} else {
		fs := make([]*yaml.Node, len(x.fields))
		cs := make([]*yaml.Node, len(x.comps))
		for i := range x.fields {
			fs[i], cs[i] = scalar(x.fields[i]), typed(x.comps[i], "!!str")
		}
		n.Content = append(n.Content, scalar("fields"), seq(fs...), scalar("comps"), seq(cs...))
	}
	n.Content = append(n.Content, scalar("values"), &yaml.Node{Kind: yaml.SequenceNode, Content: rows})
	return n
}

// Summary counts entries per type and the reasons of those left out,
// most frequent first.
type Summary struct {
	Defined, Translated map[string]int
	Reasons             []ReasonCount
}

// ReasonCount is how many left-out entries give one reason.
type ReasonCount struct {
	Key   string
	Count int
}

// Summarize counts a result.
func (r *Result) Summarize() Summary {
	s := Summary{Defined: map[string]int{}, Translated: map[string]int{}}
	for _, t := range r.Translated {
		s.Defined[t.Type]++
		s.Translated[t.Type]++
	}
	counts := map[string]int{}
	for _, sk := range r.Skipped {
		if sk.Type == "other" {
			continue
		}
		s.Defined[sk.Type]++
		seen := map[string]bool{}
		for _, rs := range sk.Reasons {
			if !seen[rs.Key] {
				seen[rs.Key] = true
				counts[rs.Key]++
			}
		}
	}
	for k, c := range counts {
		s.Reasons = append(s.Reasons, ReasonCount{k, c})
	}
	sort.Slice(s.Reasons, func(i, j int) bool {
		if s.Reasons[i].Count != s.Reasons[j].Count {
			return s.Reasons[i].Count > s.Reasons[j].Count
		}
		return s.Reasons[i].Key < s.Reasons[j].Key
	})
	return s
}
