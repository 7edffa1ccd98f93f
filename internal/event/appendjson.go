package event

import (
	"encoding/json"
	"time"
	"unicode/utf8"
)

// AppendJSON appends ev's JSON encoding (the same document json.Marshal
// produces) to b. It writes the envelope itself and takes the processes'
// encodings from their caches, because encoding/json re-validates every
// cached piece it is handed, which costs as much as encoding it anew. The
// kind-specific objects are small and go through encoding/json.
func (ev *Event) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"time":"`...)
	b = ev.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","kind":`...)
	b = appendString(b, string(ev.Kind))
	b = append(b, `,"node":`...)
	b = appendString(b, ev.Node)
	b = append(b, `,"process":`...)
	var err error
	if b, err = appendProcess(b, ev.Process); err != nil {
		return b, err
	}
	if ev.Parent != nil {
		b = append(b, `,"parent":`...)
		if b, err = appendProcess(b, ev.Parent); err != nil {
			return b, err
		}
	}
	if len(ev.Ancestors) > 0 {
		b = appendAncestors(b, ev.Ancestors)
	}
	// the kind-specific objects, in Event's field order; the most frequent
	// ones without encoding/json (appendkinds.go)
	if ev.Exit != nil {
		b = appendExit(b, ev.Exit)
	}
	if ev.Syscall != nil {
		b = appendSyscall(b, ev.Syscall)
	}
	if ev.File != nil {
		b = appendFile(b, ev.File)
	}
	if ev.Network != nil {
		b = appendNetwork(b, ev.Network)
	}
	for _, f := range []struct {
		name  string
		value any
		set   bool
	}{
		{"dns", ev.DNS, ev.DNS != nil},
		{"redirect", ev.Redirect, ev.Redirect != nil},
		{"privilege", ev.Privilege, ev.Privilege != nil},
		{"target", ev.Target, ev.Target != nil},
		{"namespace", ev.Namespace, ev.Namespace != nil},
		{"mount", ev.Mount, ev.Mount != nil},
		{"module", ev.Module, ev.Module != nil},
		{"bpf", ev.BPF, ev.BPF != nil},
		{"oom", ev.OOM, ev.OOM != nil},
		{"enforcement", ev.Enforcement, ev.Enforcement != nil},
	} {
		if f.set {
			if b, err = appendField(b, f.name, f.value); err != nil {
				return b, err
			}
		}
	}
	return append(b, '}'), nil
}

func appendProcess(b []byte, p *Process) ([]byte, error) {
	if p == nil {
		return append(b, "null"...), nil
	}
	raw, err := p.MarshalJSON()
	return append(b, raw...), err
}

func appendField(b []byte, name string, v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return append(b, raw...), nil
}

// appendString appends s as a JSON string, escaped as encoding/json would
// (without its HTML escaping). Runs of bytes that need no escape (nearly
// every path and name) are copied whole.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0 // s[start:i] is yet to be copied, unchanged
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if (r != utf8.RuneError || size != 1) && r != '\u2028' && r != '\u2029' {
				i += size // valid, kept as it is
				continue
			}
			b = append(b, s[start:i]...)
			if r == utf8.RuneError {
				b = append(b, `\ufffd`...)
			} else { // valid JSON, but not JavaScript
				b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			}
			i += size
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendJSON appends al's JSON encoding (as json.Marshal has it), taking
// the event's from Event.AppendJSON.
func (al *Alert) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"time":"`...)
	b = al.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","kind":`...)
	b = appendString(b, string(al.Kind))
	b = appendStringField(b, "node", al.Node)
	var err error
	if b, err = appendField(b, "rule", al.Rule); err != nil {
		return b, err
	}
	b = appendStringField(b, "message", al.Message)
	b = appendStringField(b, "action", string(al.Action))
	b = append(b, `,"event":`...)
	if al.Event == nil {
		b = append(b, "null"...)
	} else if b, err = al.Event.AppendJSON(b); err != nil {
		return b, err
	}
	if al.Suppressed > 0 {
		b = appendUintField(b, "suppressed", al.Suppressed)
	}
	if len(al.Intel) > 0 {
		if b, err = appendField(b, "intel", al.Intel); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}
