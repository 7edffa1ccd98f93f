package event

import (
	"encoding/json"
	"strconv"
)

// Appenders of the most frequent kind-specific objects, so that a
// file_open or net_connect is encoded without encoding/json's reflection
// and allocations. Each writes what json.Marshal writes for its type,
// field for field in the struct's order, omitempty included (strings
// unescaped for HTML, as the envelope's); TestAppendJSONMatchesEncodingJSON
// holds them to it.

// objectWriter appends the members of one JSON object.
type objectWriter struct {
	b     []byte
	first bool
}

func newObject(b []byte, name string) objectWriter {
	b = append(b, ',', '"')
	b = append(b, name...)
	return objectWriter{b: append(b, `":{`...), first: true}
}

func (w *objectWriter) key(k string) {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *objectWriter) str(k, v string, omitEmpty bool) {
	if omitEmpty && v == "" {
		return
	}
	w.key(k)
	w.b = appendString(w.b, v)
}

func (w *objectWriter) uint(k string, v uint64, omitEmpty bool) {
	if omitEmpty && v == 0 {
		return
	}
	w.key(k)
	w.b = strconv.AppendUint(w.b, v, 10)
}

func (w *objectWriter) int(k string, v int64, omitEmpty bool) {
	if omitEmpty && v == 0 {
		return
	}
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *objectWriter) bool(k string, v bool) {
	if !v {
		return // every bool here is omitempty
	}
	w.key(k)
	w.b = append(w.b, "true"...)
}

func (w *objectWriter) strs(k string, v []string) {
	if len(v) == 0 {
		return // every list here is omitempty
	}
	w.key(k)
	w.b = append(w.b, '[')
	for i, s := range v {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendString(w.b, s)
	}
	w.b = append(w.b, ']')
}

func (w *objectWriter) ints(k string, v []int64) {
	if len(v) == 0 {
		return
	}
	w.key(k)
	w.b = append(w.b, '[')
	for i, n := range v {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = strconv.AppendInt(w.b, n, 10)
	}
	w.b = append(w.b, ']')
}

func (w *objectWriter) optUint(k string, v *uint32) {
	if v != nil {
		w.uint(k, uint64(*v), false)
	}
}

// value writes v with encoding/json: for the rare nested objects.
func (w *objectWriter) value(k string, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		return // plain structs of strings, numbers and lists: cannot fail
	}
	w.key(k)
	w.b = append(w.b, raw...)
}

func (w *objectWriter) end() []byte { return append(w.b, '}') }

func appendFile(b []byte, f *File) []byte {
	w := newObject(b, "file")
	w.str("path", f.Path, false)
	w.strs("flags", f.Flags)
	w.uint("mode", uint64(f.Mode), true)
	w.bool("setuid", f.Setuid)
	w.bool("setgid", f.Setgid)
	w.str("new_path", f.NewPath, true)
	w.str("target", f.Target, true)
	w.optUint("uid", f.UID)
	w.optUint("gid", f.GID)
	w.str("name", f.Name, true)
	w.uint("inode", f.Inode, true)
	w.uint("dev", uint64(f.Dev), true)
	w.str("path_source", f.PathSource, true)
	w.strs("truncated", f.Truncated)
	w.str("alias_of", f.AliasOf, true)
	w.str("opened_as", f.OpenedAs, true)
	if f.Xattr != nil {
		w.value("xattr", f.Xattr)
	}
	return w.end()
}

// appendExit writes the exit object of every process_exit: one per
// exec in an exec storm.
func appendExit(b []byte, x *Exit) []byte {
	w := newObject(b, "exit")
	w.int("code", int64(x.Code), false)
	w.int("signal", int64(x.Signal), false)
	w.str("signal_name", x.SignalName, true)
	w.bool("core_dumped", x.CoreDumped)
	w.int("duration_ns", x.DurationNS, false)
	return w.end()
}

// appendAncestors writes the ancestors member that events with a known
// lineage carry.
func appendAncestors(b []byte, as []Ancestor) []byte {
	b = append(b, `,"ancestors":[`...)
	for i := range as {
		if i > 0 {
			b = append(b, ',')
		}
		a := &as[i]
		w := objectWriter{b: append(b, '{'), first: true}
		w.uint("pid", uint64(a.PID), false)
		w.str("binary", a.Binary, false)
		w.str("exec_id", a.ExecID, true)
		w.bool("trusted", a.Trusted)
		b = w.end()
	}
	return append(b, ']')
}

func appendSyscall(b []byte, s *Syscall) []byte {
	w := newObject(b, "syscall")
	w.str("name", s.Name, false)
	w.int("ret", s.Ret, false)
	w.str("error", s.Error, true)
	w.ints("args", s.Args)
	w.str("via", s.Via, true)
	return w.end()
}

func appendNetwork(b []byte, n *Network) []byte {
	w := newObject(b, "network")
	w.str("protocol", n.Protocol, false)
	w.str("family", n.Family, false)
	w.str("socket_type", n.SocketType, true)
	w.str("saddr", n.SAddr, true)
	w.uint("sport", uint64(n.SPort), true)
	w.str("daddr", n.DAddr, true)
	w.uint("dport", uint64(n.DPort), true)
	w.str("result", n.Result, true)
	w.str("state", n.State, true)
	w.str("old_state", n.OldState, true)
	w.int("backlog", int64(n.Backlog), true)
	w.str("payload", n.Payload, true)
	w.str("payload_head", n.PayloadHead, true)
	return w.end()
}
