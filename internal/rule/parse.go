package rule

import (
	"slices"
	"sort"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// entryType is what an entry of a rule file defines.
type entryType string

const (
	entryRule  entryType = "rule"
	entryList  entryType = "list"
	entryMacro entryType = "macro"
	entryTrack entryType = "track"
)

// entryKeys lists the keys an entry type accepts.
func entryKeys(t entryType) []string {
	switch t {
	case entryRule:
		return []string{"rule", "description", "condition", "severity", "tags", "message", "enabled",
			"exceptions", "action", "scope", "append", "override"}
	case entryList:
		return []string{"list", "items", "append", "override"}
	case entryMacro:
		return []string{"macro", "condition", "append", "override"}
	}
	return []string{"track", "description", "condition", "key", "value", "window", "max_keys", "override"}
}

// entry is one mapping of a rule file, keys still as YAML nodes.
type entry struct {
	typ    entryType
	name   string
	file   *Source
	at     pos // of the entry's name
	values map[string]*yaml.Node
	keys   map[string]*yaml.Node
	append bool
	over   bool
}

func (e *entry) label() string { return string(e.typ) + " " + e.name }

// posOf is where a node is.
func (e *entry) posOf(n *yaml.Node) pos { return pos{file: e.file.Name, line: n.Line, col: n.Column} }

// errf reports a problem with one of the entry's keys.
func (e *entry) errf(key, format string, args ...any) *Error {
	p := e.at
	if n, ok := e.values[key]; ok {
		p = e.posOf(n)
	}
	return errAt(p, e.label(), key, format, args...)
}

// parseFile splits a rule file into entries. It reports every malformed
// entry, not just the first.
func parseFile(src *Source) ([]*entry, Errors) {
	var errs Errors
	var out []*entry
	for doc, err := range yamldoc.Documents(src.Data) {
		if err != nil {
			return nil, append(errs, syntaxError(src.Name, src.Data, err))
		}
		root := doc.Content[0]
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue
		}
		if root.Kind != yaml.SequenceNode {
			errs = append(errs, &Error{File: src.Name, Line: root.Line, Column: root.Column,
				Msg: "a rule file is a list of entries (- rule: …, - list: …, - macro: …, - track: …)"})
			continue
		}
		for _, item := range root.Content {
			e, err := parseEntry(src, item)
			if err != nil {
				errs = append(errs, err...)
				continue
			}
			out = append(out, e)
		}
	}
	return out, errs
}

func parseEntry(src *Source, n *yaml.Node) (*entry, Errors) {
	at := pos{file: src.Name, line: n.Line, col: n.Column}
	if n.Kind != yaml.MappingNode {
		return nil, Errors{errAt(at, "", "", "an entry is a mapping with one of the keys rule, list, macro or track")}
	}
	e := &entry{file: src, values: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	var dups []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := e.values[k.Value]; dup {
			dups = append(dups, k)
			continue
		}
		e.values[k.Value] = v
		e.keys[k.Value] = k
	}
	errs := e.identify(at)
	for _, k := range dups { // reported with the entry's name, once known
		label := ""
		if e.name != "" {
			label = e.label()
		}
		errs = append(errs, errAt(pos{src.Name, k.Line, k.Column}, label, k.Value, "key given twice"))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return e, nil
}

// identify finds the entry's type and name and checks its keys.
func (e *entry) identify(at pos) Errors {
	var types []entryType
	for _, t := range []entryType{entryRule, entryList, entryMacro, entryTrack} {
		if _, ok := e.values[string(t)]; ok {
			types = append(types, t)
		}
	}
	if len(types) != 1 {
		hint := ""
		for _, k := range falcoEntryKeys {
			if _, ok := e.values[k]; ok {
				hint = "; " + k + " is a Falco entry: vigil rules import-falco translates Falco files"
			}
		}
		return Errors{errAt(at, "", "", "an entry has exactly one of the keys rule, list, macro or track (found %d)%s", len(types), hint)}
	}
	e.typ = types[0]
	nameNode := e.values[string(e.typ)]
	e.at = e.posOf(nameNode)
	if nameNode.Kind != yaml.ScalarNode || nameNode.Value == "" {
		return Errors{errAt(e.at, "", string(e.typ), "want a non-empty name")}
	}
	e.name = nameNode.Value
	var errs Errors
	allowed := entryKeys(e.typ)
	keys := make([]string, 0, len(e.keys))
	for k := range e.keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			errs = append(errs, errAt(e.posOf(e.keys[k]), e.label(), k,
				"unknown key for a %s entry%s; valid keys: %v%s", e.typ, didYouMean(k, allowed), allowed, falcoKeyHint(k)))
		}
	}
	var err *Error
	if e.append, err = e.optBool("append", false); err != nil {
		errs = append(errs, err)
	}
	if e.over, err = e.optBool("override", false); err != nil {
		errs = append(errs, err)
	}
	if e.append && e.over {
		errs = append(errs, e.errf("override", "append and override exclude each other"))
	}
	return errs
}

// has says whether the entry gives key.
func (e *entry) has(key string) bool { _, ok := e.values[key]; return ok }

func (e *entry) optBool(key string, def bool) (bool, *Error) {
	n, ok := e.values[key]
	if !ok {
		return def, nil
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return def, e.errf(key, "want true or false, got %q", n.Value)
	}
	b, _ := strconv.ParseBool(n.Value)
	return b, nil
}

// str reads a scalar key; required keys that are missing are an error.
func (e *entry) str(key string, required bool) (string, *Error) {
	n, ok := e.values[key]
	if !ok {
		if required {
			return "", errAt(e.at, e.label(), key, "missing")
		}
		return "", nil
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", e.errf(key, "want a string")
	}
	return n.Value, nil
}

// text reads a scalar key as source text for an expression.
func (e *entry) text(key string, required bool) (srcText, bool, *Error) {
	n, ok := e.values[key]
	if !ok {
		if required {
			return srcText{}, false, errAt(e.at, e.label(), key, "missing")
		}
		return srcText{}, false, nil
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Value == "" {
		return srcText{}, false, e.errf(key, "want a non-empty expression")
	}
	return newText(n, e.file), true, nil
}

// strList reads a sequence of scalars.
func (e *entry) strList(key string) ([]string, *Error) {
	n, ok := e.values[key]
	if !ok {
		return nil, nil
	}
	return scalarList(e, key, n)
}

func scalarList(e *entry, key string, n *yaml.Node) ([]string, *Error) {
	if n.Kind != yaml.SequenceNode {
		return nil, errAt(e.posOf(n), e.label(), key, "want a list")
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode || c.Tag == "!!null" {
			return nil, errAt(e.posOf(c), e.label(), key, "want a list of strings")
		}
		out = append(out, c.Value)
	}
	return out, nil
}

func (e *entry) positiveInt(key string, def int) (int, *Error) {
	n, ok := e.values[key]
	if !ok {
		return def, nil
	}
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil || v <= 0 {
		return def, e.errf(key, "want a positive whole number, got %q", n.Value)
	}
	return v, nil
}
