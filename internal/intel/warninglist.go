package intel

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// emptyDigests are the digests of the empty file: every empty file has
// them, so they are never acted on, whatever a feed says.
var emptyDigests = map[string]bool{
	"d41d8cd98f00b204e9800998ecf8427e":                                 true,
	"da39a3ee5e6b4b0d3255bfef95601890afd80709":                         true,
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855": true,
	"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e": true,
}

// neverAct says why v must never act, whatever its source: the empty
// file's digests; prefixes wider than /8 (IPv4) or /16 (IPv6), the
// default routes among them, which would cut the host off; the
// unspecified and broadcast addresses; names of a single label ("com",
// "localhost"), which would cover whole top-level domains or the host
// itself. Loopback addresses do act: a feed that lists one is obeyed.
func neverAct(v ioc) string {
	switch v.typ {
	case TypeMD5, TypeSHA1, TypeSHA256, TypeSHA512:
		if emptyDigests[v.value] {
			return "the empty file's digest"
		}
	case TypeIP:
		a := v.prefix.Addr()
		min := 8
		if a.Is6() {
			min = 16
		}
		switch {
		case v.prefix.Bits() < min:
			return fmt.Sprintf("a prefix wider than /%d", min)
		case a.IsUnspecified():
			return "the unspecified address"
		case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			return "the broadcast address"
		}
	case TypeDomain:
		if !strings.Contains(v.value, ".") {
			return "a name of one label"
		}
	}
	return ""
}

// Warninglist is a MISP warninglist: values known to be benign (public
// resolvers, CDNs, top sites) that must not act even when a feed lists
// them.
type Warninglist struct {
	Name     string
	Type     string // string, cidr, hostname, substring, regex
	exact    map[string]bool
	prefixes []netip.Prefix
	subs     []string
	res      []*regexp.Regexp
}

// warninglistJSON is the file's shape (misp-warninglists' list.json).
type warninglistJSON struct {
	Name string   `json:"name"`
	Type string   `json:"type"`
	List []string `json:"list"`
}

// ParseWarninglists reads one MISP warninglist object, or a JSON array
// of them (the form a feed directory's warninglists.json takes).
func ParseWarninglists(raw []byte) ([]*Warninglist, error) {
	var many []warninglistJSON
	trim := strings.TrimSpace(string(raw))
	if strings.HasPrefix(trim, "[") {
		if err := json.Unmarshal(raw, &many); err != nil {
			return nil, jsonError(raw, err)
		}
	} else {
		var one warninglistJSON
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, jsonError(raw, err)
		}
		many = []warninglistJSON{one}
	}
	out := make([]*Warninglist, 0, len(many))
	for i, w := range many {
		wl, err := newWarninglist(w)
		if err != nil {
			return nil, fmt.Errorf("warninglist %d (%q): %w", i, w.Name, err)
		}
		out = append(out, wl)
	}
	return out, nil
}

func newWarninglist(w warninglistJSON) (*Warninglist, error) {
	wl := &Warninglist{Name: w.Name, Type: w.Type, exact: map[string]bool{}}
	for n, e := range w.List {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		switch w.Type {
		case "string", "":
			wl.exact[strings.ToLower(e)] = true
		case "hostname":
			wl.exact[strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(e), "."), ".")] = true
		case "cidr":
			v, err := parseIP(e, 0)
			if err != nil {
				return nil, fmt.Errorf("entry %d: %w", n, err)
			}
			wl.prefixes = append(wl.prefixes, v.prefix)
		case "substring":
			wl.subs = append(wl.subs, strings.ToLower(e))
		case "regex":
			re, err := regexp.Compile(e)
			if err != nil {
				return nil, fmt.Errorf("entry %d: %w", n, err)
			}
			wl.res = append(wl.res, re)
		default:
			return nil, fmt.Errorf("type %q: want string, cidr, hostname, substring or regex", w.Type)
		}
	}
	return wl, nil
}

// matches says whether the list covers v (normalised) or raw (the value
// as the feed gave it).
func (w *Warninglist) matches(v ioc, raw string) bool {
	raw = strings.ToLower(raw)
	switch w.Type {
	case "string", "":
		return w.exact[v.value] || w.exact[raw]
	case "hostname":
		if v.typ != TypeDomain {
			return w.exact[v.value]
		}
		for d := v.value; ; {
			if w.exact[d] {
				return true
			}
			_, parent, ok := strings.Cut(d, ".")
			if !ok {
				return false
			}
			d = parent
		}
	case "cidr":
		if v.typ != TypeIP {
			return false
		}
		for _, p := range w.prefixes {
			if p.Bits() <= v.prefix.Bits() && p.Contains(v.prefix.Addr()) {
				return true
			}
		}
	case "substring":
		for _, s := range w.subs {
			if strings.Contains(v.value, s) || strings.Contains(raw, s) {
				return true
			}
		}
	case "regex":
		for _, re := range w.res {
			if re.MatchString(v.value) || re.MatchString(raw) {
				return true
			}
		}
	}
	return false
}

// warned names the first warninglist covering v, "" when none does.
func warned(lists []*Warninglist, v ioc, raw string) string {
	for _, w := range lists {
		if w.matches(v, raw) {
			return w.Name
		}
	}
	return ""
}
