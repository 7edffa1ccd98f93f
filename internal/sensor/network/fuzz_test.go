package network

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// The seed corpora in testdata/fuzz are real records and DNS messages
// captured from the kernel by the kernel tests: go test -capture.

func FuzzDecodeNetwork(f *testing.F) {
	dec := Decoder{Clock: func(ns uint64) time.Time { return time.Unix(0, int64(ns)).UTC() }}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := dec.Decode(raw)
		if err != nil {
			if !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if w, ok := wire.Kind(ev.Kind); !ok || !ours(w) || ev.Process == nil || ev.Network == nil {
			t.Fatalf("decoded %+v: want a network kind with process and network", ev)
		}
		if (ev.Kind == event.KindDNSQuery) != (ev.DNS != nil) {
			t.Fatalf("%s with dns %+v", ev.Kind, ev.DNS)
		}
		if (ev.Kind == event.KindFdRedirect) != (ev.Redirect != nil) {
			t.Fatalf("%s with redirect %+v", ev.Kind, ev.Redirect)
		}
		if (ev.Kind == event.KindNetPayload) != (ev.Network.Payload != "") || len(ev.Network.PayloadHead) > 2*payloadHeadMax {
			t.Fatalf("%s with payload %q %q", ev.Kind, ev.Network.Payload, ev.Network.PayloadHead)
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("marshal: %v", err)
		}
	})
}

func FuzzParseQuery(f *testing.F) {
	f.Add(dnsQuery(1, "example.com", 1))
	f.Fuzz(func(t *testing.T, msg []byte) {
		q, err := ParseQuery(msg)
		if err != nil {
			if !errors.Is(err, ErrNotQuery) {
				t.Fatalf("error %v is not ErrNotQuery", err)
			}
			return
		}
		// the name, unescaped and encoded again, is the name on the wire
		wire := encodeName(q.Name)
		if !bytes.HasPrefix(msg[dnsHeaderLen:], wire) {
			t.Fatalf("name %q encodes to %q, the message has %q", q.Name, wire, msg[dnsHeaderLen:])
		}
	})
}

// encodeName turns a presentation name back into wire labels: the inverse
// of readName, written independently for the fuzzer to compare against.
func encodeName(name string) []byte {
	if name == "." {
		return []byte{0}
	}
	var wire, label []byte
	flush := func() {
		wire = append(wire, byte(len(label)))
		wire = append(wire, label...)
		label = label[:0]
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.':
			flush()
		case c == '\\' && i+3 < len(name) && isDigits(name[i+1:i+4]):
			n, _ := strconv.Atoi(name[i+1 : i+4])
			label = append(label, byte(n))
			i += 3
		case c == '\\' && i+1 < len(name):
			label = append(label, name[i+1])
			i++
		default:
			label = append(label, c)
		}
	}
	flush()
	return append(wire, 0)
}

func isDigits(s string) bool {
	return len(s) == 3 && strings.Trim(s, "0123456789") == ""
}
