package rule

import (
	"fmt"
	"strconv"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
)

// compileExceptions turns a rule's exceptions into one expression, lists
// expanded, that is true when any row of any exception matches the event.
// It runs only after the condition matched; its cost counts against the
// rule's budget with the condition's (compileRule).
func (c *compiler) compileExceptions(r *ruleDef, entry string) *cel.Ast {
	var alts []string
	ok := true
	for _, x := range r.exceptions {
		text, good := c.exceptionText(x, entry)
		ok = ok && good
		if text != "" {
			alts = append(alts, text)
		}
	}
	if !ok || len(alts) == 0 {
		return nil
	}
	at := r.exceptions[0].at
	fail := func(format string, args ...any) *cel.Ast {
		c.errs = append(c.errs, errAt(at, entry, "exceptions", format, args...))
		return nil
	}
	checked, iss := c.env.Compile(strings.Join(alts, " || "))
	if iss.Err() != nil {
		return fail("%v", iss.Err())
	}
	expanded, err := c.expand(checked)
	if err != nil {
		return fail("expand lists: %v", err)
	}
	return expanded
}

// exceptionText renders one exception as a CEL disjunction of its rows.
func (c *compiler) exceptionText(x *exceptionDef, entry string) (string, bool) {
	fail := func(p pos, format string, args ...any) (string, bool) {
		c.errs = append(c.errs, errAt(p, entry, "exceptions", "exception "+x.name+": "+format, args...))
		return "", false
	}
	comps := x.comps
	if len(comps) == 0 {
		comps = make([]string, len(x.fields))
		for i := range comps {
			comps[i] = "="
		}
	}
	if len(comps) != len(x.fields) {
		return fail(x.at, "%d comps for %d fields; give one per field", len(comps), len(x.fields))
	}
	kinds := make([]cellKind, len(x.fields))
	for i, f := range x.fields {
		t, ok := c.ce.pathType(f)
		if !ok {
			return fail(x.at, "unknown field %s%s", f, didYouMean(f, c.ce.paths))
		}
		switch {
		case t.IsExactType(types.IntType):
			kinds[i] = cellInt
			if comps[i] != "=" && comps[i] != "!=" && comps[i] != "in" {
				return fail(x.at, "%s is a number: compare it with =, != or in", f)
			}
		case t.IsExactType(types.BoolType):
			// process.is_vigil: an exception for vigil's own executable
			kinds[i] = cellBool
			if comps[i] != "=" && comps[i] != "!=" {
				return fail(x.at, "%s is a bool: compare it with = or !=", f)
			}
		case !t.IsExactType(types.StringType):
			return fail(x.at, "%s is %s; exceptions compare string, number and bool fields", f, typeLabel(t))
		}
	}
	var rows []string
	for _, row := range x.rows {
		if len(row) != len(x.fields) {
			return fail(row[0].at, "a row has %d values for %d fields", len(row), len(x.fields))
		}
		terms := make([]string, len(row))
		for i, cell := range row {
			term, err := c.exceptionTerm(x.fields[i], comps[i], cell, kinds[i])
			if err != "" {
				return fail(cell.at, "%s", err)
			}
			terms[i] = term
		}
		rows = append(rows, "("+strings.Join(terms, " && ")+")")
	}
	return strings.Join(rows, " || "), true
}

// cellKind is the type of the field an exception's cell compares.
type cellKind int

const (
	cellString cellKind = iota
	cellInt
	cellBool
)

// exceptionTerm renders one field comparison, or says what is wrong.
func (c *compiler) exceptionTerm(field, comp string, cell exceptionCell, kind cellKind) (string, string) {
	lit := func(v string) (string, string) {
		switch kind {
		case cellInt:
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return "", field + " is a number; " + strconv.Quote(v) + " is not"
			}
			return v, ""
		case cellBool:
			if v != "true" && v != "false" {
				return "", field + " is a bool: want true or false, not " + strconv.Quote(v)
			}
			return v, ""
		}
		return strconv.Quote(v), ""
	}
	if comp == "in" && cell.scalar {
		return c.listTerm(field, cell.vals[0], kind == cellInt)
	}
	if comp == "in" {
		parts := make([]string, len(cell.vals))
		for i, v := range cell.vals {
			l, err := lit(v)
			if err != "" {
				return "", err
			}
			parts[i] = l
		}
		return field + " in [" + strings.Join(parts, ", ") + "]", ""
	}
	if len(cell.vals) != 1 {
		return "", "comparison " + comp + " takes one value, not a list"
	}
	l, err := lit(cell.vals[0])
	if err != "" {
		return "", err
	}
	switch comp {
	case "=":
		return field + " == " + l, ""
	case "!=":
		return field + " != " + l, ""
	case "startswith":
		return field + ".startsWith(" + l + ")", ""
	case "endswith":
		return field + ".endsWith(" + l + ")", ""
	case "contains":
		return field + ".contains(" + l + ")", ""
	}
	return field + ".glob(" + l + ")", ""
}

// listTerm renders "field in list" for a cell that names a list.
func (c *compiler) listTerm(field, name string, isInt bool) (string, string) {
	l := c.d.list(name)
	if l == nil || !c.names.lists[name] {
		return "", fmt.Sprintf("comparison in takes a list of values ([a, b]) or the name of a list; no list is named %q%s",
			name, didYouMean(name, c.d.namesOf(entryList)))
	}
	if len(l.items) == 0 {
		return "false", "" // an empty list holds nothing, of either type
	}
	if l.items[0].isInt != isInt {
		want := "strings"
		if isInt {
			want = "numbers"
		}
		return "", fmt.Sprintf("list %s does not hold %s, as %s needs", name, want, field)
	}
	return field + " in " + name, ""
}

// pathType is the CEL type of a dotted field path.
func (ce *celEnv) pathType(path string) (*types.Type, bool) {
	parts := splitPath(path)
	i, ok := ce.varIndex[parts[0]]
	if !ok {
		return nil, false
	}
	t := ce.vars[i].typ
	for _, f := range parts[1:] {
		obj, ok := ce.schema.byName[t.TypeName()]
		if !ok {
			return nil, false
		}
		ft, ok := obj.fields[f]
		if !ok {
			return nil, false
		}
		t = ft.Type
	}
	return t, true
}
