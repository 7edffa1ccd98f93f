package intel

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// ioc is one parsed value before it gets its provenance: what a MISP
// attribute or a list line names, normalised.
type ioc struct {
	typ    Type
	value  string
	prefix netip.Prefix
	port   uint16
}

// errSkip marks an attribute type vigil does not act on (email-src,
// regkey, …): it is skipped, not an error.
var errSkip = fmt.Errorf("not an attribute type vigil acts on")

// hashTypes maps a MISP hash type to vigil's.
var hashTypes = map[string]Type{
	"md5": TypeMD5, "sha1": TypeSHA1, "sha256": TypeSHA256, "sha512": TypeSHA512,
}

// hashLen is the digest length in bytes of each hash type.
func hashLen(t Type) int {
	switch t {
	case TypeMD5:
		return 16
	case TypeSHA1:
		return 20
	case TypeSHA256:
		return 32
	case TypeSHA512:
		return 64
	}
	return 0
}

// fromAttribute turns a MISP attribute (type, value) into the IOCs it
// names: none and errSkip for a type vigil does not act on, an error for
// a value its type does not fit.
func fromAttribute(typ, value string) ([]ioc, error) {
	value = strings.TrimSpace(value)
	if t, ok := hashTypes[typ]; ok {
		h, err := parseHash(t, value)
		return []ioc{h}, err
	}
	if name, h, ok := strings.Cut(typ, "|"); ok && name == "filename" {
		t, ok := hashTypes[h]
		if !ok {
			return nil, errSkip
		}
		_, digest, ok := cutLast(value, "|") // a file name may hold '|'
		if !ok {
			return nil, fmt.Errorf("%s value %q has no '|'", typ, value)
		}
		i, err := parseHash(t, strings.TrimSpace(digest))
		return []ioc{i}, err
	}
	switch typ {
	case "ip-src", "ip-dst":
		i, err := parseIP(value, 0)
		return []ioc{i}, err
	case "ip-src|port", "ip-dst|port":
		host, port, ok := cutLast(value, "|")
		if !ok {
			return nil, fmt.Errorf("%s value %q has no '|'", typ, value)
		}
		p, err := strconv.ParseUint(strings.TrimSpace(port), 10, 16)
		if err != nil {
			return nil, fmt.Errorf("%s value %q: port %q is not 0-65535", typ, value, port)
		}
		i, err := parseIP(strings.TrimSpace(host), uint16(p))
		return []ioc{i}, err
	case "domain", "hostname":
		i, err := parseDomain(value)
		return []ioc{i}, err
	case "domain|ip", "hostname|ip":
		name, addr, ok := strings.Cut(value, "|")
		if !ok {
			return nil, fmt.Errorf("%s value %q has no '|'", typ, value)
		}
		d, err := parseDomain(name)
		if err != nil {
			return nil, err
		}
		a, err := parseIP(strings.TrimSpace(addr), 0)
		return []ioc{d, a}, err
	case "url", "link":
		i, err := fromURL(value)
		return []ioc{i}, err
	}
	return nil, errSkip
}

// cutLast cuts s around the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// parseHash checks a hex digest of type t.
func parseHash(t Type, v string) (ioc, error) {
	v = strings.ToLower(v)
	if len(v) != 2*hashLen(t) {
		return ioc{}, fmt.Errorf("%s %q: want %d hex digits, have %d", t, v, 2*hashLen(t), len(v))
	}
	if _, err := hex.DecodeString(v); err != nil {
		return ioc{}, fmt.Errorf("%s %q is not hex", t, v)
	}
	return ioc{typ: t, value: v}, nil
}

// parseIP reads an address or a prefix (CIDR); an address becomes a
// full-length prefix.
func parseIP(v string, port uint16) (ioc, error) {
	var p netip.Prefix
	if strings.Contains(v, "/") {
		var err error
		if p, err = netip.ParsePrefix(v); err != nil {
			return ioc{}, fmt.Errorf("%q is not an address or a prefix", v)
		}
		p = p.Masked()
	} else {
		a, err := netip.ParseAddr(strings.Trim(v, "[]"))
		if err != nil {
			return ioc{}, fmt.Errorf("%q is not an address or a prefix", v)
		}
		a = a.Unmap().WithZone("")
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	if p.Bits() < 0 {
		return ioc{}, fmt.Errorf("%q is not an address or a prefix", v)
	}
	val := p.String()
	if p.IsSingleIP() {
		val = p.Addr().String()
	}
	return ioc{typ: TypeIP, value: val, prefix: p, port: port}, nil
}

// parseDomain checks and normalises a domain or host name: lower case,
// no final dot, letters, digits, '-', '_' and '.' only.
func parseDomain(v string) (ioc, error) {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v)), ".")
	if d == "" || len(d) > 253 {
		return ioc{}, fmt.Errorf("%q is not a domain name", v)
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return ioc{}, fmt.Errorf("%q is not a domain name (empty or long label)", v)
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '*') {
				return ioc{}, fmt.Errorf("%q is not a domain name (%q)", v, c)
			}
		}
	}
	d = strings.TrimPrefix(d, "*.")
	if strings.Contains(d, "*") {
		return ioc{}, fmt.Errorf("%q: '*' only as the first label", v)
	}
	if a, err := netip.ParseAddr(d); err == nil {
		return parseIP(a.String(), 0)
	}
	return ioc{typ: TypeDomain, value: d}, nil
}

// fromURL takes a URL's host: a domain, or an address (with the URL's
// port when it names one).
func fromURL(v string) (ioc, error) {
	if !strings.Contains(v, "://") {
		v = "http://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Hostname() == "" {
		return ioc{}, fmt.Errorf("%q is not a URL with a host", v)
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		var port uint16
		if p, err := strconv.ParseUint(u.Port(), 10, 16); err == nil {
			port = uint16(p)
		}
		return parseIP(a.String(), port)
	}
	return parseDomain(host)
}

// detect guesses what a plain list's line names: a hex digest by its
// length, an address, a prefix, `address:port`, a URL, or a domain.
func detect(v string) (ioc, error) {
	v = strings.TrimSpace(v)
	if isHex(v) {
		switch len(v) {
		case 32:
			return parseHash(TypeMD5, v)
		case 40:
			return parseHash(TypeSHA1, v)
		case 64:
			return parseHash(TypeSHA256, v)
		case 128:
			return parseHash(TypeSHA512, v)
		}
	}
	if strings.Contains(v, "://") {
		return fromURL(v)
	}
	if addr, _, ok := strings.Cut(v, "/"); ok {
		if _, err := netip.ParseAddr(addr); err == nil {
			return parseIP(v, 0) // a prefix, or an error
		}
	}
	if i, err := parseIP(v, 0); err == nil {
		return i, nil
	}
	if ap, err := netip.ParseAddrPort(v); err == nil {
		return parseIP(ap.Addr().String(), ap.Port())
	}
	if strings.ContainsAny(v, "/:") {
		return fromURL(v)
	}
	return parseDomain(v)
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
