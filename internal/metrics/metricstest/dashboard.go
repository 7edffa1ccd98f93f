// Package metricstest reads Grafana dashboards for tests: every query a
// dashboard holds, wherever it is (panels, panels in collapsed rows,
// template variables, annotations), and the metric names each uses.
package metricstest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

var nameMatcher = regexp.MustCompile(`__name__\s*=\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"`)

// Query is one expression of a dashboard, and where it is.
type Query struct {
	// Where names it: a panel's title, a template variable's name.
	Where string
	Expr  string
	// Template is set for a template variable's query, which is Grafana's
	// syntax (label_values(…), query_result(…)) rather than PromQL.
	Template bool
}

// Queries returns every query of the dashboard: the targets of every
// panel, however deep in rows (a collapsed row keeps its panels inside
// it), the queries of template variables and of annotations.
func Queries(raw []byte) ([]Query, error) {
	var dash map[string]any
	if err := json.Unmarshal(raw, &dash); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	var out []Query
	var panels func(v any, path string)
	panels = func(v any, path string) {
		list, _ := v.([]any)
		for i, p := range list {
			panel, _ := p.(map[string]any)
			if panel == nil {
				continue
			}
			title, _ := panel["title"].(string)
			where := fmt.Sprintf("%spanel %d %q", path, i, title)
			targets, _ := panel["targets"].([]any)
			for _, tg := range targets {
				if t, _ := tg.(map[string]any); t != nil {
					if expr, _ := t["expr"].(string); expr != "" {
						out = append(out, Query{Where: where, Expr: expr})
					}
				}
			}
			panels(panel["panels"], where+" > ")
		}
	}
	panels(dash["panels"], "")
	if tmpl, _ := dash["templating"].(map[string]any); tmpl != nil {
		list, _ := tmpl["list"].([]any)
		for _, v := range list {
			vr, _ := v.(map[string]any)
			if vr == nil || vr["type"] != "query" {
				continue
			}
			name, _ := vr["name"].(string)
			where := fmt.Sprintf("variable %q", name)
			var expr string
			switch q := vr["query"].(type) {
			case string:
				expr = q
			case map[string]any:
				expr, _ = q["query"].(string)
			}
			if expr == "" {
				expr, _ = vr["definition"].(string)
			}
			if expr != "" {
				out = append(out, Query{Where: where, Expr: expr, Template: true})
			}
		}
	}
	if ann, _ := dash["annotations"].(map[string]any); ann != nil {
		list, _ := ann["list"].([]any)
		for i, v := range list {
			a, _ := v.(map[string]any)
			if a == nil {
				continue
			}
			if expr, _ := a["expr"].(string); expr != "" {
				out = append(out, Query{Where: fmt.Sprintf("annotation %d", i), Expr: expr})
			}
		}
	}
	return out, nil
}

// Metrics returns the metric names q uses, sorted, each once.
func (q Query) Metrics() []string {
	expr := q.Expr
	if q.Template {
		expr = templateExpr(expr)
	}
	seen := map[string]bool{}
	for _, m := range MetricNames(expr) {
		seen[m] = true
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// templateExpr is the PromQL inside a Grafana template query:
// label_values(metric{…}, label) selects metric; label_values(label)
// none; query_result(expr) is expr; metrics(regex) names no metric.
func templateExpr(s string) string {
	s = strings.TrimSpace(s)
	if inner, ok := call(s, "label_values"); ok {
		if i := lastTopLevelComma(inner); i >= 0 {
			return inner[:i]
		}
		return "" // a label across all metrics
	}
	if inner, ok := call(s, "query_result"); ok {
		return inner
	}
	if _, ok := call(s, "metrics"); ok {
		return ""
	}
	if _, ok := call(s, "label_names"); ok {
		return ""
	}
	return s
}

func call(s, fn string) (string, bool) {
	rest, ok := strings.CutPrefix(s, fn)
	if !ok {
		return "", false
	}
	rest = strings.TrimSpace(rest)
	if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
		return "", false
	}
	return rest[1 : len(rest)-1], true
}

func lastTopLevelComma(s string) int {
	depth, last := 0, -1
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			switch c {
			case '\\':
				i++
			case quote:
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '(' || c == '{' || c == '[':
			depth++
		case c == ')' || c == '}' || c == ']':
			depth--
		case c == ',' && depth == 0:
			last = i
		}
	}
	return last
}

// keywords of PromQL that look like identifiers.
var keywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "and": true, "or": true, "unless": true, "offset": true, "start": true, "end": true,
	"inf": true, "nan": true,
}

// grouping keywords take a parenthesised list of label names.
var grouping = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// MetricNames returns the metric names in a PromQL expression, in order,
// with repeats: the identifiers that are not functions or aggregations
// (followed by a parenthesis), keywords, label names (inside {…} or a
// grouping's list), durations, numbers, strings or Grafana variables
// ($instance, ${x}, $__rate_interval).
func MetricNames(expr string) []string {
	var out []string
	s := expr
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(s, i)
		case c == '{':
			j := skipTo(s, i, '}')
			// {__name__="x"} selects by name
			if m := nameMatcher.FindStringSubmatch(s[i:j]); m != nil {
				out = append(out, m[1])
			}
			i = j
		case c == '[':
			i = skipTo(s, i, ']')
		case c == '$':
			i++
			if i < len(s) && s[i] == '{' {
				i = skipTo(s, i, '}')
				continue
			}
			for i < len(s) && isIdent(s[i]) {
				i++
			}
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			// a number (1e-9, 0x1f, 0.99) or a duration (5m, 1h30m)
			for i < len(s) && (isIdent(s[i]) || s[i] == '.' ||
				(s[i] == '-' || s[i] == '+') && (s[i-1] == 'e' || s[i-1] == 'E')) {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			word := s[i:j]
			k := j
			for k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n') {
				k++
			}
			called := k < len(s) && s[k] == '('
			// an aggregation with its grouping first: sum by (x) (…)
			if next := nextWord(s[k:]); !called && (next == "by" || next == "without") {
				called = true
			}
			switch {
			case grouping[strings.ToLower(word)] && called:
				j = skipTo(s, k, ')')
			case called, keywords[strings.ToLower(word)]:
			default:
				out = append(out, word)
			}
			i = j
		default:
			i++
		}
	}
	return out
}

// nextWord is the identifier s starts with, lowercased.
func nextWord(s string) string {
	j := 0
	for j < len(s) && isIdent(s[j]) {
		j++
	}
	return strings.ToLower(s[:j])
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdent(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// skipString returns the index after the string starting at i.
func skipString(s string, i int) int {
	q := s[i]
	for i++; i < len(s); i++ {
		if s[i] == '\\' && q != '`' {
			i++
		} else if s[i] == q {
			return i + 1
		}
	}
	return len(s)
}

// skipTo returns the index after the close matching the opening at i,
// skipping strings on the way.
func skipTo(s string, i int, close byte) int {
	for i++; i < len(s); {
		switch s[i] {
		case '"', '\'', '`':
			i = skipString(s, i)
		case close:
			return i + 1
		default:
			i++
		}
	}
	return len(s)
}
