package network

import (
	"errors"
	"strings"
	"testing"
)

func TestParseQuery(t *testing.T) {
	withName := func(wire ...byte) []byte {
		msg := []byte{0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
		return append(append(msg, wire...), 0, 1, 0, 1)
	}
	long := strings.Repeat("a", 63)
	for _, tc := range []struct {
		name string
		msg  []byte
		want Question // zero: an error is wanted
	}{
		{"A", dnsQuery(0x1234, "example.com", 1), Question{0x1234, "example.com", "A"}},
		{"HTTPS", dnsQuery(1, "svc.example", 65), Question{1, "svc.example", "HTTPS"}},
		{"unnamed type", dnsQuery(1, "x", 4242), Question{1, "x", "TYPE4242"}},
		{"root", withName(0), Question{0xabcd, ".", "A"}},
		{"escapes", withName(3, 'a', '.', 'b', 2, '\\', 0xff, 0), Question{0xabcd, `a\.b.\\\255`, "A"}},
		{"space and NUL", withName(2, ' ', 0, 0), Question{0xabcd, `\032\000`, "A"}},
		{"longest label", dnsQuery(1, long+".x", 1), Question{1, long + ".x", "A"}},
		{"label too long", append(withName(64), make([]byte, 64)...), Question{}},
		{"compression pointer", withName(0xc0, 12), Question{}},
		{"response", func() []byte { m := dnsQuery(1, "x", 1); m[2] |= 0x80; return m }(), Question{}},
		{"no question", func() []byte { m := dnsQuery(1, "x", 1); m[5] = 0; return m }(), Question{}},
		{"short header", []byte{1, 2, 3}, Question{}},
		{"name runs out", dnsQuery(1, "example.com", 1)[:16], Question{}},
		{"no type", dnsQuery(1, "example.com", 1)[:25], Question{}},
		{"name over 255", dnsQuery(1, strings.Repeat(long+".", 4)+"x", 1), Question{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseQuery(tc.msg)
			if tc.want == (Question{}) {
				if !errors.Is(err, ErrNotQuery) {
					t.Fatalf("ParseQuery = %+v, %v; want ErrNotQuery", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseQuery = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
