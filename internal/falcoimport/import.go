package falcoimport

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-sec/vigil/internal/rule"
)

// Options tune an import.
type Options struct {
	// Name is the translated file's name as validation errors show it.
	Name string
	// Base are the rule files loaded before the translated one (the
	// default pack): names they define are not reused, and the result
	// is validated after them.
	Base []rule.Source
	// Env are the environment variables exec events carry (the agent's
	// sensors.process.env), which proc.env is read from: a test of
	// another variable gets a note.
	Env []string
}

// Reason is why an entry, or part of it, did not translate; Key groups
// reasons of one cause ("unknown field proc.sname").
type Reason struct {
	Key string
	Msg string
}

// Skipped is a Falco entry left out of the translation.
type Skipped struct {
	Type    string // rule, macro, list, other
	Name    string
	At      string // file:line of its definition
	Reasons []Reason
}

// Translated is a Falco entry the translation has, with what it lost on
// the way (notes) and its vigil name when that differs.
type Translated struct {
	Type    string
	Name    string
	OutName string
	At      string
	Notes   []string
}

// Result is an import's outcome: the vigil rule file and, per entry,
// what became of it.
type Result struct {
	YAML       []byte
	Translated []Translated
	Skipped    []Skipped
}

// Import translates Falco rule files, in order, into one vigil rule file
// that validates after opt.Base. Entries that do not translate are left
// out and reported in Skipped with every reason.
func Import(files []File, opt Options) (*Result, error) {
	if opt.Name == "" {
		opt.Name = "falco-import.yaml"
	}
	rs, err := load(files)
	if err != nil {
		return nil, err
	}
	rs.flatten()
	taken, err := baseNames(opt.Base)
	if err != nil {
		return nil, err
	}
	rs.name(taken)
	for round := 0; ; round++ {
		res := rs.translate(opt.Env)
		res.YAML = emit(rs, res, files)
		srcs := append(append([]rule.Source(nil), opt.Base...), rule.Source{Name: opt.Name, Data: res.YAML})
		_, err := rule.Compile(srcs)
		if err == nil {
			res.Skipped = append(rs.skips, res.Skipped...)
			return res, nil
		}
		var errs rule.Errors
		if !errors.As(err, &errs) || round > 20 {
			return nil, fmt.Errorf("validate the translation: %w", err)
		}
		if err := rs.force(errs, opt.Name); err != nil {
			return nil, err
		}
	}
}

// force marks the entries validation refused, so that the next round
// leaves them out (a message is dropped rather than its rule).
func (rs *ruleSet) force(errs rule.Errors, file string) error {
	progress := false
	for _, e := range errs {
		if e.File != file {
			return fmt.Errorf("validate the translation: %w", e)
		}
		typ, name, _ := strings.Cut(e.Entry, " ")
		p := &problem{key: "does not validate (" + e.Field + ")", msg: "does not validate: " + e.Field + ": " + e.Msg}
		for _, x := range rs.order {
			switch d := x.(type) {
			case *macroDef:
				if typ == "macro" && d.outName == name && d.forced == nil {
					d.forced, progress = p, true
				}
			case *ruleDef:
				if typ == "rule" && d.outName == name && d.forced == nil {
					if e.Field == "message" && d.output != "" {
						d.output, progress = "", true
						continue
					}
					d.forced, progress = p, true
				}
			}
		}
	}
	if !progress {
		return fmt.Errorf("validate the translation: %w", errs)
	}
	return nil
}

// reservedNames are CEL's reserved words and vigil's top-level names,
// which a macro or list cannot be called.
var reservedNames = strings.Fields(`true false null in as break const continue else for function if import let loop
package namespace return var void while kind time node process parent ancestors ancestor_names container k8s exit
syscall file network dns redirect privilege target ns mount module bpf`)

// name chooses vigil names: Falco's, unless taken by the base files or
// reserved, then with a falco_ prefix.
func (rs *ruleSet) name(taken map[string]bool) {
	for _, r := range reservedNames {
		taken[r] = true
	}
	pick := func(n string, ident bool) string {
		out := n
		if ident {
			out = identifier(n)
		}
		for taken[out] {
			out = "falco_" + out
		}
		taken[out] = true
		return out
	}
	for _, x := range rs.order {
		switch d := x.(type) {
		case *listDef:
			d.outName = pick(d.name, true)
		case *macroDef:
			d.outName = pick(d.name, true)
		case *ruleDef:
			d.outName = pick(d.name, false)
		}
	}
}

// identifier makes a CEL identifier of a Falco name.
func identifier(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// translate translates every entry afresh.
func (rs *ruleSet) translate(env []string) *Result {
	t := &translator{fields: newFields(), lists: rs.lists, macros: rs.macros, env: env}
	for _, m := range rs.macros {
		m.state, m.probs, m.notes = stateNew, nil, nil
	}
	res := &Result{}
	for _, x := range rs.order {
		switch d := x.(type) {
		case *listDef:
			res.Translated = append(res.Translated, Translated{Type: "list", Name: d.name, OutName: d.outName, At: d.at.String()})
		case *macroDef:
			if d.state == stateNew {
				d.translate(t)
			}
			rs.report(res, "macro", d.name, d.outName, d.at, d.probs, d.notes)
		case *ruleDef:
			d.translate(t)
			rs.report(res, "rule", d.name, d.outName, d.at, d.probs, d.notes)
		}
	}
	return res
}

func (rs *ruleSet) report(res *Result, typ, name, out string, at where, probs []*problem, notes []string) {
	if len(probs) > 0 {
		s := Skipped{Type: typ, Name: name, At: at.String()}
		seen := map[string]bool{}
		for _, p := range probs {
			if !seen[p.msg] {
				seen[p.msg] = true
				s.Reasons = append(s.Reasons, Reason{Key: p.key, Msg: p.msg})
			}
		}
		res.Skipped = append(res.Skipped, s)
		return
	}
	res.Translated = append(res.Translated, Translated{Type: typ, Name: name, OutName: out, At: at.String(), Notes: notes})
}
