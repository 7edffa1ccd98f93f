package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"
)

// fullEvent sets every field of Event, so that a field AppendJSON forgets
// shows up as a difference from encoding/json.
func fullEvent(t *testing.T) *Event {
	t.Helper()
	p := sampleProcess(100, "/usr/bin/make")
	p.Seal()
	ev := &Event{
		Time: time.Date(2026, 11, 21, 15, 4, 5, 123456789, time.UTC), Kind: KindFileOpen, Node: "n\"1\u2028\x01é\xff",
		Process: p, Parent: sampleProcess(99, "/usr/bin/bash"),
		Ancestors: []Ancestor{{PID: 1, Binary: "/sbin/init"}},
	}
	v := reflect.ValueOf(ev).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer && f.IsNil() {
			f.Set(reflect.New(f.Type().Elem())) // every kind-specific object, zero-valued
		}
	}
	return ev
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	for _, ev := range []*Event{
		fullEvent(t),
		{Time: time.Unix(0, 0).UTC(), Kind: KindProcessExec, Process: sampleProcess(5, "/bin/true")},
		{Kind: KindProcessExit, Process: &Process{PID: 7, Partial: true}, Exit: &Exit{Signal: 9, SignalName: "SIGKILL"}},
	} {
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ev.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("AppendJSON is not JSON: %v\n%s", err, got)
		}
		json.Unmarshal(want, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("AppendJSON differs from json.Marshal:\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"uote\\", "\x00\x1f\u2028\u2029", "\xff\xfe", "é✓"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendString(nil, s)
		want, _ := json.Marshal(s)
		var a, b string
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, got, err)
		}
		json.Unmarshal(want, &b)
		if a != b {
			t.Fatalf("%q decodes to %q, encoding/json's to %q", s, a, b)
		}
		if ref := appendStringByRune(nil, s); !bytes.Equal(got, ref) {
			t.Fatalf("%q encodes to %s, rune by rune to %s", s, got, ref)
		}
	})
}

// appendStringByRune is appendString written the plain way, one rune at
// a time: the bytes appendString must produce.
func appendStringByRune(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r < 0x20, r == '\u2028', r == '\u2029':
			b = fmt.Appendf(b, `\u%04x`, r)
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

// fill sets every field reachable from v to a non-zero value, so that a
// field an appender forgets cannot go unnoticed.
func fill(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		if depth > 4 {
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), depth+1)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth)
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := 0; i < 2; i++ {
			fill(v.Index(i), depth)
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(reflect.ValueOf("b"), reflect.ValueOf("2"))
		v.SetMapIndex(reflect.ValueOf("a"), reflect.ValueOf("1\n"))
	case reflect.String:
		v.SetString("s\"\\\x01é")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(-7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(4294967295)
	}
}

func TestAppendProcessMatchesEncodingJSON(t *testing.T) {
	full := &Process{}
	fill(reflect.ValueOf(full).Elem(), 0)
	for _, p := range []*Process{full, {}, sampleProcess(3, "/bin/sh")} {
		want, err := json.Marshal((*processFields)(p))
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendProcessFields(nil, p)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("appendProcessFields differs from encoding/json:\n got %s\nwant %s", got, want)
		}
	}
}

func TestAlertAppendJSONMatchesEncodingJSON(t *testing.T) {
	al := &Alert{}
	fill(reflect.ValueOf(al).Elem(), 0)
	al.Event = fullEvent(t)
	for _, a := range []*Alert{al, {Kind: KindAlert, Event: &Event{Process: &Process{PID: 1}}}} {
		want, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		var x, y any
		if err := json.Unmarshal(got, &x); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, got)
		}
		json.Unmarshal(want, &y)
		if !reflect.DeepEqual(x, y) {
			t.Errorf("Alert.AppendJSON differs from json.Marshal:\n got %s\nwant %s", got, want)
		}
	}
}
