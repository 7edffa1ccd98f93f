package intel

import (
	"errors"
	"testing"
)

// checkParsed holds what every parser's output must satisfy: each
// indicator's value is normalised for its type and indexable.
func checkParsed(t *testing.T, p parsed) {
	for _, i := range p.inds {
		switch i.Type {
		case TypeMD5, TypeSHA1, TypeSHA256, TypeSHA512:
			if _, ok := digest(i.Value, hashLen(i.Type)); !ok {
				t.Fatalf("%s %q is not a digest", i.Type, i.Value)
			}
		case TypeIP:
			if !i.Prefix.IsValid() || i.Prefix != i.Prefix.Masked() || i.Prefix.Addr().Is4In6() {
				t.Fatalf("prefix %v of %q", i.Prefix, i.Value)
			}
		case TypeDomain:
			if i.Value == "" || i.Value != normalName(i.Value) {
				t.Fatalf("domain %q", i.Value)
			}
		default:
			t.Fatalf("type %q", i.Type)
		}
		if i.Prov == nil {
			t.Fatalf("%q has no provenance", i.Value)
		}
	}
	x := buildIndex(p.inds)
	for _, i := range p.inds {
		var hits []*Indicator
		switch i.Type {
		case TypeIP:
			hits = x.ip.lookup(i.Prefix.Addr(), i.Port, nil)
		case TypeDomain:
			hits = x.lookupDomain(i.Value, nil)
		default:
			hits = x.hash(i.Type, i.Value)
		}
		if len(hits) == 0 {
			t.Fatalf("%s %q is not found in its own index", i.Type, i.Value)
		}
	}
}

// checkErr: an error is a RefreshError with a position.
func checkErr(t *testing.T, err error) {
	var re *RefreshError
	if !errors.As(err, &re) || re.Where == "" || re.Reason == "" {
		t.Fatalf("error without reason or position: %#v", err)
	}
}

func FuzzParseList(f *testing.F) {
	f.Add([]byte(plainList), -1)
	f.Add([]byte("first_seen,ioc\n2026-11-30,198.51.100.9\n2026-12-01,\"evil.example\"\n"), 1)
	f.Add([]byte("0.0.0.0 ads.example\n::1 localhost\n[2001:db8::1]:443\n"), -1)
	f.Add([]byte("a,\"b\nc\",d\n"), 2)
	f.Fuzz(func(t *testing.T, data []byte, column int) {
		if column > 8 {
			column %= 8
		}
		p, err := parseList(data, column, "fuzz", "fuzz.txt")
		if err != nil {
			checkErr(t, err)
			return
		}
		checkParsed(t, p)
	})
}

func FuzzParseMISPEvent(f *testing.F) {
	for _, e := range feedEvents() {
		f.Add(eventJSON(e))
	}
	f.Add([]byte(`{"Event": {"uuid": "5f3a", "info": "i", "Tag": [{"name": "tlp:white"}], "Attribute": [{"uuid": "1", "type": "domain|ip", "value": "a.example|1.2.3.4", "to_ids": "1"}], "Object": [{"Attribute": [{"type": "ip-dst|port", "value": "::1|53", "to_ids": 1}]}]}}`))
	f.Add([]byte(`{"Event": {"Attribute": [{"type": "url", "value": "http://[::1]:0/", "to_ids": true, "timestamp": "x"}]}}`))
	f.Add([]byte(`{"Event": null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseMISPEvent(data, "fuzz", "e.json")
		if err != nil {
			checkErr(t, err)
			return
		}
		checkParsed(t, p)
	})
}

func FuzzParseKunai(f *testing.F) {
	f.Add([]byte(`{"type": "sha256", "uuid": "u", "source": "s", "value": "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", "event_uuid": "e", "severity": 10}` + "\n" + `{"uuid": "u", "source": "s", "value": "circl.lu"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseKunai(data, "fuzz", "k.json")
		if err != nil {
			checkErr(t, err)
			return
		}
		checkParsed(t, p)
	})
}
