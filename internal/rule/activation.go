package rule

import (
	"strings"

	"cel.dev/cel-go/common/functions"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"

	"github.com/vigil-sec/vigil/internal/event"
)

// activation resolves a condition's variables from the event being
// evaluated. Each variable is computed once per event and shared by every
// check the event meets.
type activation struct {
	vars  []topVar
	ev    *event.Event
	have  uint32
	cache [32]any
	// procs are the event's process and parent as conditions see them.
	procs    [2]procView
	zeroProc event.Process
	// names are ancestor_names, once per event.
	names     []string
	haveNames bool
	// trusted are trusted_ancestor_names, once per event.
	trusted     []string
	haveTrusted bool
	// tracked and trackedCount are the engine's state-table queries.
	tracked, trackedCount functions.LateBoundOp
	// tables are the engine's state tables by track name, for the
	// pre-filter's reading of tracked().
	tables map[string]*trackTable
	// kindBox is boxedKind as CEL sees it, kept from event to event.
	kindBox   any
	boxedKind event.Kind
}

// kind is the event's kind as a CEL value, boxed once for each run of
// events of one kind rather than for every event (a box is immutable).
func (a *activation) kind() any {
	if a.kindBox == nil || a.boxedKind != a.ev.Kind {
		a.kindBox, a.boxedKind = types.String(a.ev.Kind), a.ev.Kind
	}
	return a.kindBox
}

// reset points the activation at ev (nil to let go of the last one).
func (a *activation) reset(ev *event.Event) {
	a.ev = ev
	a.procs = [2]procView{}
	a.haveNames, a.haveTrusted = false, false
	if a.have != 0 {
		a.have = 0
		clear(a.cache[:len(a.vars)])
	}
}

// proc is the view of p (slot 0 the process, 1 the parent), made once per
// event; an absent process reads as zero values.
func (a *activation) proc(slot int, p *event.Process) *procView {
	v := &a.procs[slot]
	if v.Process == nil {
		if p == nil {
			p = &a.zeroProc
		}
		*v = procView{Process: p}
	}
	return v
}

// ancestorNames lists the base names of the parent's binary and the
// ancestors', nearest first, reusing one buffer.
func (a *activation) ancestorNames() []string {
	if a.haveNames {
		return a.names
	}
	a.names = a.names[:0]
	if a.ev.Parent != nil {
		a.names = append(a.names, baseName(a.ev.Parent.Binary))
	}
	for _, x := range a.ev.Ancestors {
		a.names = append(a.names, baseName(x.Binary))
	}
	a.haveNames = true
	return a.names
}

// trustedAncestorNames is ancestorNames restricted to processes whose
// binary is trusted.
func (a *activation) trustedAncestorNames() []string {
	if a.haveTrusted {
		return a.trusted
	}
	a.trusted = a.trusted[:0]
	if p := a.ev.Parent; p != nil && p.BinaryTrusted {
		a.trusted = append(a.trusted, baseName(p.Binary))
	}
	for _, x := range a.ev.Ancestors {
		if x.Trusted {
			a.trusted = append(a.trusted, baseName(x.Binary))
		}
	}
	a.haveTrusted = true
	return a.trusted
}

// procView is a process as conditions see it: the event's Process, with
// the fields vigil derives from it computed at most once per event.
type procView struct {
	*event.Process
	cmd     string
	haveCmd bool
	// args and env are the CEL values of Args and Env, made at the
	// first read (perEvent)
	args, env any
}

// cmdline is argv joined by spaces.
func (v *procView) cmdline() string {
	if !v.haveCmd {
		v.cmd, v.haveCmd = strings.Join(v.Args, " "), true
	}
	return v.cmd
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	i := varSlot(name)
	if i < 0 {
		return nil, false
	}
	if a.have&(1<<i) != 0 {
		return a.cache[i], true
	}
	v := a.vars[i].get(a)
	a.cache[i] = v
	a.have |= 1 << i
	return v, true
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

// ResolveFunction implements interpreter.FunctionActivation.
func (a *activation) ResolveFunction(name string) (functions.LateBoundOp, bool) {
	switch name {
	case fnTracked:
		return a.tracked, a.tracked != nil
	case fnTrackedCount:
		return a.trackedCount, a.trackedCount != nil
	}
	return nil, false
}

// varSlot maps a variable name to its index in the schema's variables
// (newSchema's order). A switch, not a map: it runs for every variable
// reference of every evaluated condition.
func varSlot(name string) int {
	switch name {
	case "kind":
		return 0
	case "time":
		return 1
	case "node":
		return 2
	case "process":
		return 3
	case "parent":
		return 4
	case "ancestors":
		return 5
	case "ancestor_names":
		return 6
	case "container":
		return 7
	case "exit":
		return 8
	case "syscall":
		return 9
	case "file":
		return 10
	case "network":
		return 11
	case "dns":
		return 12
	case "redirect":
		return 13
	case "privilege":
		return 14
	case "target":
		return 15
	case "ns":
		return 16
	case "mount":
		return 17
	case "module":
		return 18
	case "bpf":
		return 19
	case "k8s":
		return 20
	case "trusted_ancestor_names":
		return 21
	}
	return -1
}
