package config

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"
)

// Rules is the rules section: which rule files load, and how alerts are
// throttled. A nil pointer (or nil Paths) means the file leaves the
// setting to the command line and its defaults; a flag given on the
// command line wins over the file.
type Rules struct {
	// Paths are rule files or directories loaded after the default pack,
	// in order; relative ones are taken from the config file's directory.
	Paths []string
	// DefaultRules false leaves the embedded default pack out.
	DefaultRules *bool
	Throttle     Throttle
	// pathLines are the lines of Paths, for errors about them.
	pathLines []int
	file      string
}

// Throttle is rules.throttle (docs/rules.md, "Throttling").
type Throttle struct {
	// Burst alerts of one rule pass at once for one source, then one
	// per Refill; a Refill of 0 turns throttling off.
	Burst  *int
	Refill *time.Duration
	// RuleBurst alerts of one rule pass at once across its sources, then
	// one per RuleRefill; a RuleRefill of 0 turns this ceiling off.
	RuleBurst  *int
	RuleRefill *time.Duration
}

func (d *decoder) rules(n *yaml.Node, field string) Rules {
	r := Rules{file: d.file}
	f, ok := d.mapping(n, field, "paths", "default_rules", "throttle")
	if !ok {
		return r
	}
	if v := f["paths"]; v != nil {
		r.Paths = []string{} // given, even if empty
		for i, item := range d.sequence(v, field+".paths") {
			name := fmt.Sprintf("%s.paths[%d]", field, i)
			p := d.str(item, name)
			if p == "" {
				d.errorf(item, name, "want the path of a rule file or directory")
				continue
			}
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(d.file), p)
			}
			r.Paths = append(r.Paths, p)
			r.pathLines = append(r.pathLines, resolve(item).Line)
		}
	}
	if v := f["default_rules"]; v != nil {
		b := d.boolean(v, field+".default_rules")
		r.DefaultRules = &b
	}
	if v := f["throttle"]; v != nil {
		r.Throttle = d.throttle(v, field+".throttle")
	}
	return r
}

func (d *decoder) throttle(n *yaml.Node, field string) Throttle {
	var t Throttle
	f, ok := d.mapping(n, field, "burst", "refill", "rule_burst", "rule_refill")
	if !ok {
		return t
	}
	count := func(key string) *int {
		v := f[key]
		if v == nil {
			return nil
		}
		i := d.integer(v, field+"."+key, 1)
		return &i
	}
	every := func(key string) *time.Duration {
		v := f[key]
		if v == nil {
			return nil
		}
		dur := d.duration(v, field+"."+key)
		return &dur
	}
	t.Burst, t.Refill = count("burst"), every("refill")
	t.RuleBurst, t.RuleRefill = count("rule_burst"), every("rule_refill")
	return t
}

// CheckPaths reports the rule paths that cannot be read, each at its
// line in the file.
func (r Rules) CheckPaths() error {
	d := &decoder{file: r.file}
	for i, p := range r.Paths {
		if _, err := os.Stat(p); err != nil {
			d.errs = append(d.errs, &Error{File: r.file, Line: r.pathLines[i], Field: fmt.Sprintf("rules.paths[%d]", i),
				Msg: fmt.Sprintf("%v: want a rule file or a directory of them", err)})
		}
	}
	return d.err()
}
