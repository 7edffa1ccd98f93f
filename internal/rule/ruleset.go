package rule

import (
	"slices"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/selector"
)

// Ruleset is a compiled, immutable set of rules. Any number of Engines
// may evaluate it, each with its own state.
type Ruleset struct {
	env    *celEnv
	rules  []*Rule
	tracks []*trackSpec
	// checks are the tracks then the enabled rules; an event's candidate
	// checks are ids into this slice.
	checks  []*check
	byKind  map[event.Kind]*kindIndex
	anyKind *kindIndex
	// costLimit is the runtime cost limit of each program; 0 for none.
	costLimit uint64
	// Warnings are findings that do not stop the set from loading.
	Warnings Errors
}

// Rule is one compiled rule.
type Rule struct {
	Name        string
	Description string
	Severity    event.Severity
	Tags        []string
	// MITRE are the ATT&CK technique ids among Tags.
	MITRE   []string
	Action  Action
	Enabled bool
	// Kinds are the event kinds the condition can match; nil means any.
	Kinds []event.Kind
	// Source is where the rule was first defined: "file:line".
	Source string
	// Scope, when set, limits the rule to the containers of the pods it
	// chooses; such a rule never matches a host process.
	Scope *selector.Pods

	at      pos
	ref     event.RuleRef
	guard   *guard
	filter  *pfNode // the condition's pre-filter; nil if none
	pre     *trackPre
	tracks  []string // tracks the condition queries
	prog    *program
	except  *program // nil without exceptions
	message *template
	// kernel is what the kernel decides of a kill or deny rule; nil
	// leaves it to user space, for userspaceWhy.
	kernel       *KernelForm
	userspaceWhy string
}

// program is a planned expression. tracked says it runs under the runtime
// cost limit: the compiler decides per program, from its static cost
// estimate (see plan), so that only a program that could cost more than
// the limit pays for the tracker on every evaluation.
type program struct {
	cel.Program
	tracked bool
}

// Indexed names the field the rule is indexed on beyond its kinds ("" if
// none): the engine evaluates its condition only for events whose field
// passes that test.
func (r *Rule) Indexed() string {
	if r.guard == nil {
		return ""
	}
	return r.guard.paths()
}

// trackSpec is a compiled track entry.
type trackSpec struct {
	name    string
	window  time.Duration
	maxKeys int
	kinds   []string
	guard   *guard
	filter  *pfNode
	cond    *program
	key     *program
	value   *program // nil: tracked_count counts keys' events
	uses    []string // tracks the condition queries
}

// check is one entry of the index: a track to feed or a rule to test.
type check struct {
	track *trackSpec
	rule  *Rule
	kinds []string // nil: any kind
	guard *guard
	// filter decides natively that the condition is false, when it can
	// (prefilter.go); nil to always evaluate it.
	filter *pfNode
}

// Rules lists every rule, enabled or not, in definition order.
func (rs *Ruleset) Rules() []*Rule { return append([]*Rule(nil), rs.rules...) }

// Fields lists the dotted field paths conditions can use.
func (rs *Ruleset) Fields() []string { return append([]string(nil), rs.env.paths...) }

// FieldDoc describes one field path, with its type.
func (rs *Ruleset) FieldDoc(path string) (typ, doc string, ok bool) {
	parts := splitPath(path)
	i, found := rs.env.varIndex[parts[0]]
	if !found {
		return "", "", false
	}
	v := rs.env.vars[i]
	if len(parts) == 1 {
		return typeLabel(v.typ), v.doc, true
	}
	t := rs.env.schema.byName[v.typ.TypeName()]
	for k, f := range parts[1:] {
		if t == nil {
			return "", "", false
		}
		ft, found := t.fields[f]
		if !found {
			return "", "", false
		}
		if k == len(parts)-2 {
			return typeLabel(ft.Type), t.doc[f], true
		}
		t = rs.env.schema.byName[ft.Type.TypeName()]
	}
	return "", "", false
}

// Interest is what the rules want to see of one event kind: the data the
// agent turns into kernel filters, so that events no rule can match need
// not cross the ring buffer.
type Interest struct {
	// All is set when some rule (or track) of the kind tests no field the
	// index understands: every event of the kind is needed.
	All bool
	// Fields maps a field path ("file.path") to the values rules test it
	// against; an event is needed if any of them holds.
	Fields map[string]FieldInterest
}

// FieldInterest are the tests on one field.
type FieldInterest struct {
	Equal, Prefix, Suffix, Contains []string
	Ints                            []int64
}

// Interest reports what the enabled rules want of events of kind k.
func (rs *Ruleset) Interest(k event.Kind) Interest {
	ki := rs.byKind[k]
	if ki == nil {
		ki = rs.anyKind
	}
	in := Interest{Fields: map[string]FieldInterest{}}
	for _, w := range ki.always {
		in.All = in.All || w != 0
	}
	for id, ch := range rs.checks {
		if ch.guard == nil || !ki.hasGuarded(id) {
			continue
		}
		for _, alt := range ch.guard.alts {
			fi := in.Fields[alt.path]
			fi.Equal = appendNew(fi.Equal, alt.vals.eq...)
			fi.Prefix = appendNew(fi.Prefix, alt.vals.prefix...)
			fi.Suffix = appendNew(fi.Suffix, alt.vals.suffix...)
			fi.Contains = appendNew(fi.Contains, alt.vals.contains...)
			for _, n := range alt.ints {
				if !slices.Contains(fi.Ints, n) {
					fi.Ints = append(fi.Ints, n)
				}
			}
			in.Fields[alt.path] = fi
		}
	}
	return in
}

func appendNew(list []string, vals ...string) []string {
	for _, v := range vals {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}
