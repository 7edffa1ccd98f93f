package rule

import (
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/selector"
)

// A rule's scope limits it to containers of Kubernetes pods, chosen as
// Kubernetes chooses them (internal/selector). It is a key of its own
// rather than a part of the condition so that a site can narrow a pack
// rule with override: true without rewriting its condition, and so that
// the one selector model serves rules and policies alike.

// scope reads a rule entry's scope key; nil without one.
func (e *entry) scope() (*selector.Pods, Errors) {
	n, ok := e.values["scope"]
	if !ok {
		return nil, nil
	}
	p, ferrs := selector.Decode(n, "scope")
	var errs Errors
	for _, fe := range ferrs {
		errs = append(errs, errAt(pos{file: e.file.Name, line: fe.Line, col: fe.Column}, e.label(), fe.Field, "%s", fe.Msg))
	}
	return p, errs
}

// inScope says whether ev's process is one the rule's scope chooses; true
// for a rule without a scope.
func (r *Rule) inScope(ev *event.Event) bool {
	if r.Scope == nil {
		return true
	}
	return ev.Process != nil && r.Scope.MatchContainer(ev.Process.Container)
}
