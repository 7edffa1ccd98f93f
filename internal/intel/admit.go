package intel

import (
	"fmt"
)

// parsed is what a parser found: candidate indicators (without the
// source's mode and severity) and the values it left out, by why.
type parsed struct {
	inds    []*Indicator
	skipped map[string]int
}

func (p *parsed) skip(why string) {
	if p.skipped == nil {
		p.skipped = map[string]int{}
	}
	p.skipped[why]++
}

// add makes the indicators of v with their provenance.
func (p *parsed) add(v ioc, prov *Provenance) {
	p.inds = append(p.inds, &Indicator{Type: v.typ, Value: v.value, Prefix: v.prefix, Port: v.port, Prov: prov})
}

// admission is the indicators of a source that act.
type admission struct {
	inds    []*Indicator
	skipped map[string]int
}

// admit keeps the candidates that may act: not never-act values, not on
// a warninglist, and gives them the source's mode and severity. More
// than max of them (0: no cap) refuses the whole set.
func admit(cfg *SourceConfig, cands []*Indicator, skipped map[string]int, wls []*Warninglist, max int) (admission, error) {
	a := admission{inds: make([]*Indicator, 0, len(cands)), skipped: map[string]int{}}
	for k, n := range skipped {
		a.skipped[k] += n
	}
	for _, c := range cands {
		v := ioc{typ: c.Type, value: c.Value, prefix: c.Prefix, port: c.Port}
		if neverAct(v) != "" {
			a.skipped["never_act"]++
			continue
		}
		raw := ""
		if c.Prov != nil {
			raw = c.Prov.Value
		}
		if len(wls) > 0 && warned(wls, v, raw) != "" {
			a.skipped["warninglist"]++
			continue
		}
		// the candidates are the set's indicators (no copy: memory); a
		// source's mode and severity never change, so only a new
		// candidate, not yet in any set, is written to
		if c.Mode != cfg.Mode || c.Severity != cfg.Severity {
			c.Mode, c.Severity = cfg.Mode, cfg.Severity
		}
		a.inds = append(a.inds, c)
		if max > 0 && len(a.inds) > max {
			return admission{}, &RefreshError{Reason: ReasonTooMany, Err: fmt.Errorf("more than %d indicators (the per-source cap)", max)}
		}
	}
	return a, nil
}
