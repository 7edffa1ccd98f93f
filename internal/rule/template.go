package rule

import (
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"
)

// template is an alert message: text with {expression} holes filled from
// the event when a rule matches. {{ and }} stand for literal braces.
type template struct {
	parts []templatePart
	// stateful says a hole asks the engine's state (tracked(),
	// tracked_count()), whose answer changes with later events: such a
	// message is rendered when its rule matches. Any other message
	// depends on its event alone, which is immutable, and is rendered
	// only for an alert that leaves the throttle (Engine.emit).
	stateful bool
}

type templatePart struct {
	text string
	prog *program // nil for literal text
}

// compileTemplate compiles a message; errors point into the file.
func (c *compiler) compileTemplate(t srcText, entry string) *template {
	tpl := &template{}
	var lit strings.Builder
	s := t.s
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "{{") || strings.HasPrefix(s[i:], "}}"):
			lit.WriteByte(s[i])
			i++
		case s[i] == '}':
			c.errs = append(c.errs, errAt(t.posAt(i), entry, "message", "} without {; write }} for a literal brace"))
			return nil
		case s[i] == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				c.errs = append(c.errs, errAt(t.posAt(i), entry, "message", "{ is not closed; write {{ for a literal brace"))
				return nil
			}
			if lit.Len() > 0 {
				tpl.parts = append(tpl.parts, templatePart{text: lit.String()})
				lit.Reset()
			}
			sub := t.slice(i+1, i+end)
			a := c.compileExpr(sub, entry, "message", nil)
			if a == nil {
				return nil
			}
			prg := c.program(a, sub, entry, "message")
			if prg == nil {
				return nil
			}
			tpl.parts = append(tpl.parts, templatePart{text: sub.s, prog: prg})
			tpl.stateful = tpl.stateful || callsTrack(a.NativeRep().Expr())
			i += end
		default:
			lit.WriteByte(s[i])
		}
	}
	if lit.Len() > 0 {
		tpl.parts = append(tpl.parts, templatePart{text: lit.String()})
	}
	return tpl
}

// literalTemplate is a message without holes.
func literalTemplate(s string) *template {
	return &template{parts: []templatePart{{text: s}}}
}

// callsTrack says e calls tracked() or tracked_count().
func callsTrack(e ast.Expr) bool {
	found := false
	walkScoped(e, map[string]bool{}, func(x ast.Expr, _ map[string]bool) bool {
		if x.Kind() == ast.CallKind {
			if f := x.AsCall().FunctionName(); f == fnTracked || f == fnTrackedCount {
				found = true
			}
		}
		return !found
	})
	return found
}

// render fills the template from the event the frame resolves. Values go
// in raw, control characters and all, so that the alert's JSON says
// exactly what the event held; the human formats escape the message
// (internal/output/termsafe).
func (t *template) render(e *Engine, frame *interpreter.ExecutionFrame) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := e.eval(p.prog, frame)
		if err != nil {
			b.WriteString("<" + p.text + "?>")
			continue
		}
		writeValue(&b, v)
	}
	return b.String()
}

// writeValue renders a CEL value for people.
func writeValue(b *strings.Builder, v ref.Val) {
	switch x := v.(type) {
	case types.String:
		b.WriteString(string(x))
	case types.Int:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case types.Uint:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case types.Bool:
		b.WriteString(strconv.FormatBool(bool(x)))
	case types.Double:
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 64))
	case types.Timestamp:
		b.WriteString(x.Time.UTC().Format(time.RFC3339Nano))
	case traits.Lister:
		for it, first := x.Iterator(), true; it.HasNext() == types.True; first = false {
			if !first {
				b.WriteByte(' ')
			}
			writeValue(b, it.Next())
		}
	default:
		b.WriteString("<")
		b.WriteString(v.Type().TypeName())
		b.WriteString(">")
	}
}
