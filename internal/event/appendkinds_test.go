package event

import (
	"encoding/json"
	"reflect"
	"testing"
)

// fillEvery sets every field of the struct v points to to a value that is
// not its zero value, so that a field an appender forgets or misnames
// shows up as a difference from encoding/json.
func fillEvery(t *testing.T, v any) {
	t.Helper()
	s := reflect.ValueOf(v).Elem()
	for i := 0; i < s.NumField(); i++ {
		f := s.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("v<&>\"\u2028" + s.Type().Field(i).Name)
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int, reflect.Int64:
			f.SetInt(-int64(i) - 1)
		case reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(uint64(i) + 1)
		case reflect.Pointer:
			n := reflect.New(f.Type().Elem())
			if n.Elem().Kind() == reflect.Struct {
				fillEvery(t, n.Interface())
			} else {
				n.Elem().SetUint(uint64(i) + 7)
			}
			f.Set(n)
		case reflect.Slice:
			e := reflect.New(f.Type().Elem()).Elem()
			if e.Kind() == reflect.String {
				e.SetString("x")
			} else {
				e.SetInt(3)
			}
			f.Set(reflect.Append(reflect.Append(reflect.MakeSlice(f.Type(), 0, 2), e), e))
		default:
			t.Fatalf("%s.%s: kind %s not covered", s.Type().Name(), s.Type().Field(i).Name, f.Kind())
		}
	}
}

// TestKindAppendersMatchEncodingJSON: the hand-written encoders of File,
// Syscall, Network, Exit and the ancestors write what encoding/json writes, with every field
// set and with every field zero.
func TestKindAppendersMatchEncodingJSON(t *testing.T) {
	full := &Event{Kind: KindFileOpen, File: &File{}, Syscall: &Syscall{}, Network: &Network{},
		Exit: &Exit{}, Ancestors: make([]Ancestor, 2)}
	fillEvery(t, full.File)
	fillEvery(t, full.Syscall)
	fillEvery(t, full.Network)
	fillEvery(t, full.Exit)
	fillEvery(t, &full.Ancestors[0])
	zero := &Event{Kind: KindFileOpen, File: &File{}, Syscall: &Syscall{}, Network: &Network{},
		Exit: &Exit{}, Ancestors: make([]Ancestor, 1)}
	for _, ev := range []*Event{full, zero} {
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
			t.Fatalf("not JSON: %v\n%s", err, got)
		}
		if err := json.Unmarshal(want, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("AppendJSON differs from json.Marshal:\n got %s\nwant %s", got, want)
		}
	}
}
