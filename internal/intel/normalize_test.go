package intel

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestFromAttribute: each MISP attribute type vigil acts on, normalised.
func TestFromAttribute(t *testing.T) {
	for _, tc := range []struct {
		typ, value string
		want       string // "type value port" per IOC, ";"-separated
	}{
		{"md5", " 44D88612FEA8A8F36DE82E1278ABB02F ", "md5 44d88612fea8a8f36de82e1278abb02f 0"},
		{"sha1", "3395856ce81f2b7382dee72602f798b642f14140", "sha1 3395856ce81f2b7382dee72602f798b642f14140 0"},
		{"sha512", strings.Repeat("ab", 64), "sha512 " + strings.Repeat("ab", 64) + " 0"},
		{"filename|sha256", "dropper.sh|" + strings.Repeat("0F", 32), "sha256 " + strings.Repeat("0f", 32) + " 0"},
		{"filename|sha1", "a|b|" + strings.Repeat("1", 40), "sha1 " + strings.Repeat("1", 40) + " 0"},
		{"ip-src", "198.51.100.1", "ip 198.51.100.1 0"},
		{"ip-dst", "198.51.100.77/24", "ip 198.51.100.0/24 0"},
		{"ip-dst", "::ffff:198.51.100.1", "ip 198.51.100.1 0"},
		{"ip-dst", "2001:DB8::1", "ip 2001:db8::1 0"},
		{"ip-dst|port", "198.51.100.1|8080", "ip 198.51.100.1 8080"},
		{"ip-src|port", "2001:db8::1|53", "ip 2001:db8::1 53"},
		{"domain", "WWW.Example.COM.", "domain www.example.com 0"},
		{"hostname", "*.bad.example", "domain bad.example 0"},
		{"domain|ip", "bad.example|198.51.100.2", "domain bad.example 0;ip 198.51.100.2 0"},
		{"url", "hxxp://x", "domain x 0"},
		{"url", "https://user@Bad.Example:8443/a?b#c", "domain bad.example 0"},
		{"url", "http://[2001:db8::2]:8080/x", "ip 2001:db8::2 8080"},
		{"url", "bad.example/path", "domain bad.example 0"},
	} {
		got, err := fromAttribute(tc.typ, tc.value)
		if err != nil {
			t.Errorf("%s %q: %v", tc.typ, tc.value, err)
			continue
		}
		var parts []string
		for _, v := range got {
			parts = append(parts, strings.Join([]string{string(v.typ), v.value, strconv.Itoa(int(v.port))}, " "))
		}
		if s := strings.Join(parts, ";"); s != tc.want {
			t.Errorf("%s %q: %s, want %s", tc.typ, tc.value, s, tc.want)
		}
	}
}

// TestFromAttributeErrors: a value its type does not fit is an error; a
// type vigil does not act on is skipped.
func TestFromAttributeErrors(t *testing.T) {
	for _, tc := range [][2]string{
		{"md5", "abc"}, {"sha256", strings.Repeat("g", 64)}, {"filename|md5", "no-pipe"},
		{"ip-dst", "300.1.1.1"}, {"ip-dst|port", "1.2.3.4|99999"}, {"ip-dst|port", "1.2.3.4"},
		{"domain", "a..b"}, {"domain", "bad domain.example"}, {"domain|ip", "a.example|x"}, {"url", "http://"},
	} {
		if _, err := fromAttribute(tc[0], tc[1]); err == nil || errors.Is(err, errSkip) {
			t.Errorf("%s %q: %v, want an error", tc[0], tc[1], err)
		}
	}
	for _, typ := range []string{"email-src", "regkey", "filename|ssdeep", "mutex", "yara"} {
		if _, err := fromAttribute(typ, "x"); !errors.Is(err, errSkip) {
			t.Errorf("%s: %v, want skipped", typ, err)
		}
	}
}

// TestNeverAct: the empty file's digests, huge prefixes, unspecified and
// broadcast addresses, one-label names never act; loopback does.
func TestNeverAct(t *testing.T) {
	for _, v := range []string{
		"d41d8cd98f00b204e9800998ecf8427e", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
		"0.0.0.0/0", "::/0", "10.0.0.0/7", "2000::/3", "0.0.0.0", "::", "255.255.255.255", "localhost", "com",
	} {
		i, err := detect(v)
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if neverAct(i) == "" {
			t.Errorf("%s acts", v)
		}
	}
	for _, v := range []string{"127.0.0.1", "10.0.0.0/8", "2001:db8::/32", "bad.example", strings.Repeat("1", 64)} {
		i, err := detect(v)
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if why := neverAct(i); why != "" {
			t.Errorf("%s never acts: %s", v, why)
		}
	}
}

// TestWarninglistTypes: each MISP warninglist type matches what it
// should.
func TestWarninglistTypes(t *testing.T) {
	wls, err := ParseWarninglists([]byte(`[
		{"name": "s", "type": "string", "list": ["8.8.8.8", "Google.com"]},
		{"name": "c", "type": "cidr", "list": ["1.1.1.0/24", "2606:4700::/32"]},
		{"name": "h", "type": "hostname", "list": [".akamaiedge.net"]},
		{"name": "sub", "type": "substring", "list": ["windowsupdate"]},
		{"name": "re", "type": "regex", "list": ["^[a-f0-9]{32}$"]}]`))
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]string{
		"8.8.8.8": "s", "google.com": "s", "www.google.com": "", "1.1.1.1": "c", "1.1.1.0/25": "c", "1.1.0.0/16": "",
		"2606:4700::1111": "c", "a1.akamaiedge.net": "h", "akamaiedge.net": "h", "x.windowsupdate.example": "sub",
		"44d88612fea8a8f36de82e1278abb02f": "re", "bad.example": "",
	} {
		i, err := detect(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := warned(wls, i, v); got != want {
			t.Errorf("%s: on %q, want %q", v, got, want)
		}
	}
	for _, bad := range []string{`{"name": "x", "type": "bogus", "list": ["a"]}`, `{"name": "x", "type": "cidr", "list": ["nope"]}`,
		`{"name": "x", "type": "regex", "list": ["("]}`, `[{"name": `} {
		if _, err := ParseWarninglists([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
