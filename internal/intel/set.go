package intel

import (
	"maps"
	"net/netip"
)

// sourceSet is one source's last good indicators with their index and
// status, as one Set holds them.
type sourceSet struct {
	status SourceStatus
	index  *index
	count  int
}

// Len is the number of indicators in force, every source counted.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	n := 0
	for _, src := range s.sources {
		n += src.count
	}
	return n
}

// Sources is each source's status as of this set, in configuration order.
func (s *Set) Sources() []SourceStatus {
	if s == nil {
		return nil
	}
	out := make([]SourceStatus, len(s.sources))
	for i, src := range s.sources {
		out[i] = src.status
		out[i].Loaded = maps.Clone(src.status.Loaded)
		out[i].FailuresByReason = maps.Clone(src.status.FailuresByReason)
		out[i].Skipped = maps.Clone(src.status.Skipped)
	}
	return out
}

// Hash returns the indicators for a digest of type t (md5, sha1, sha256,
// sha512) in hex; none when it is not listed. The slice is shared:
// callers must not change it.
func (s *Set) Hash(t Type, digest string) []*Indicator {
	if s == nil {
		return nil
	}
	var out []*Indicator
	for i, src := range s.sources {
		hits := src.index.hash(t, digest)
		if len(hits) == 0 {
			continue
		}
		if out == nil && s.onlyHit(i+1, func(x *index) bool { return len(x.hash(t, digest)) > 0 }) {
			return hits
		}
		out = append(out, hits...)
	}
	return out
}

// HashBytes is Hash for a raw digest (16, 20, 32 or 64 bytes, which say
// its type): what the agent has after hashing a file, without the hex.
func (s *Set) HashBytes(d []byte) []*Indicator {
	var t Type
	switch len(d) {
	case 16:
		t = TypeMD5
	case 20:
		t = TypeSHA1
	case 32:
		t = TypeSHA256
	case 64:
		t = TypeSHA512
	default:
		return nil
	}
	if s == nil {
		return nil
	}
	var out []*Indicator
	for _, src := range s.sources {
		out = append(out, src.index.hashRaw(t, d)...)
	}
	return out
}

// onlyHit says whether no source from the i-th on has a hit.
func (s *Set) onlyHit(i int, hit func(*index) bool) bool {
	for _, src := range s.sources[i:] {
		if hit(src.index) {
			return false
		}
	}
	return true
}

// IP returns the indicators whose prefix holds a and whose port is 0 or
// port; port 0 asks for every port.
func (s *Set) IP(a netip.Addr, port uint16) []*Indicator {
	if s == nil || !a.IsValid() {
		return nil
	}
	var out []*Indicator
	for _, src := range s.sources {
		out = src.index.ip.lookup(a, port, out)
	}
	return out
}

// Domain returns the indicators for name or one of its parent domains (a
// listed domain covers its subdomains). Case and a final dot do not
// matter.
func (s *Set) Domain(name string) []*Indicator {
	if s == nil || name == "" {
		return nil
	}
	name = normalName(name)
	var out []*Indicator
	for _, src := range s.sources {
		out = src.index.lookupDomain(name, out)
	}
	return out
}

// Each calls fn for every indicator of type t until fn returns false, in
// a stable order: sources in configuration order, then by value, port
// and attribute uuid.
func (s *Set) Each(t Type, fn func(*Indicator) bool) { s.EachOf("", t, fn) }

// EachOf is Each for one source's indicators (every source's when source
// is "").
func (s *Set) EachOf(source string, t Type, fn func(*Indicator) bool) {
	if s == nil {
		return
	}
	for _, src := range s.sources {
		if source != "" && src.status.Name != source {
			continue
		}
		for _, i := range src.index.sorted[t] {
			if !fn(i) {
				return
			}
		}
	}
}
