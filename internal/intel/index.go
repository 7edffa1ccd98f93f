package intel

import (
	"cmp"
	"encoding/hex"
	"net/netip"
	"slices"
	"strings"
	"unsafe"
)

// index is one source's indicators, indexed; immutable once built. The
// map values are sub-slices of the sorted per-type slices, so an
// indicator costs one pointer in them and no allocation of its own.
type index struct {
	sorted map[Type][]*Indicator // by value, port, attribute: Each's order
	md5    map[[16]byte][]*Indicator
	sha1   map[[20]byte][]*Indicator
	sha256 map[[32]byte][]*Indicator
	sha512 map[[64]byte][]*Indicator
	ip     ipIndex
	domain map[string][]*Indicator
	bytes  int64
}

// Approximate costs, for SourceStatus.Bytes: a map entry's overhead
// beyond its key and value (Go's swiss tables: control bytes and load
// factor), a slice header, a string header.
const (
	mapEntryOverhead = 16
	sliceHeader      = int64(unsafe.Sizeof([]*Indicator{}))
	stringHeader     = int64(unsafe.Sizeof(""))
)

// compareIndicators orders indicators of one type: by value (prefix for
// addresses), port, then attribute, so equal keys are adjacent.
func compareIndicators(a, b *Indicator) int {
	if a.Type == TypeIP {
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()); c != 0 {
			return c
		}
	} else if c := strings.Compare(a.Value, b.Value); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Port, b.Port); c != 0 {
		return c
	}
	return strings.Compare(provAttr(a), provAttr(b))
}

func provAttr(i *Indicator) string {
	if i.Prov == nil {
		return ""
	}
	return i.Prov.AttributeUUID
}

// sameKey says whether a and b fall under one index key.
func sameKey(a, b *Indicator) bool {
	if a.Type == TypeIP {
		return a.Prefix == b.Prefix
	}
	return a.Value == b.Value
}

// buildIndex indexes inds (which it sorts in place).
func buildIndex(inds []*Indicator) *index {
	x := &index{sorted: map[Type][]*Indicator{}}
	byType := map[Type][]*Indicator{}
	for _, i := range inds {
		byType[i.Type] = append(byType[i.Type], i)
	}
	x.bytes = indicatorBytes(inds)
	for t, list := range byType {
		slices.SortFunc(list, compareIndicators)
		x.sorted[t] = list
		x.addGroups(t, list)
	}
	return x
}

// addGroups puts each run of equal keys of list into t's map.
func (x *index) addGroups(t Type, list []*Indicator) {
	for start := 0; start < len(list); {
		end := start + 1
		for end < len(list) && sameKey(list[start], list[end]) {
			end++
		}
		group := list[start:end:end]
		x.put(t, group)
		start = end
	}
	if t == TypeIP {
		x.ip = buildIPIndex(list)
		x.bytes += x.ip.bytes
	}
}

// put adds one group of indicators under their common key.
func (x *index) put(t Type, group []*Indicator) {
	v := group[0].Value
	entry := int64(mapEntryOverhead) + sliceHeader
	d, ok := digest(v, hashLen(t))
	if hashLen(t) > 0 && !ok {
		return
	}
	switch t {
	case TypeMD5:
		x.md5 = putHash(x.md5, [16]byte(d[:16]), group)
		x.bytes += entry + 16
	case TypeSHA1:
		x.sha1 = putHash(x.sha1, [20]byte(d[:20]), group)
		x.bytes += entry + 20
	case TypeSHA256:
		x.sha256 = putHash(x.sha256, [32]byte(d[:32]), group)
		x.bytes += entry + 32
	case TypeSHA512:
		x.sha512 = putHash(x.sha512, d, group)
		x.bytes += entry + 64
	case TypeDomain:
		if x.domain == nil {
			x.domain = map[string][]*Indicator{}
		}
		x.domain[v] = group
		x.bytes += entry + stringHeader
	}
}

// digest decodes n bytes of hex; ok is false for anything else.
func digest(v string, n int) (d [64]byte, ok bool) {
	if len(v) != 2*n {
		return d, false
	}
	_, err := hex.Decode(d[:n], []byte(v))
	return d, err == nil
}

// putHash adds a group under its digest's bytes (the hex was checked
// when parsed).
func putHash[K comparable](m map[K][]*Indicator, k K, group []*Indicator) map[K][]*Indicator {
	if m == nil {
		m = map[K][]*Indicator{}
	}
	m[k] = group
	return m
}

// hash returns the indicators of a digest (hex, either case).
func (x *index) hash(t Type, hexDigest string) []*Indicator {
	d, ok := digest(hexDigest, hashLen(t))
	if !ok {
		return nil
	}
	return x.hashRaw(t, d[:hashLen(t)])
}

// hashRaw looks a digest of t's length up.
func (x *index) hashRaw(t Type, d []byte) []*Indicator {
	switch t {
	case TypeMD5:
		return x.md5[[16]byte(d[:16])]
	case TypeSHA1:
		return x.sha1[[20]byte(d[:20])]
	case TypeSHA256:
		return x.sha256[[32]byte(d[:32])]
	case TypeSHA512:
		return x.sha512[[64]byte(d[:64])]
	}
	return nil
}

// lookupDomain returns the indicators of name and of its parent domains.
func (x *index) lookupDomain(name string, out []*Indicator) []*Indicator {
	if len(x.domain) == 0 {
		return out
	}
	for d := name; d != ""; {
		out = append(out, x.domain[d]...)
		_, parent, ok := strings.Cut(d, ".")
		if !ok {
			break
		}
		d = parent
	}
	return out
}

// indicatorBytes estimates the memory of inds and their provenance, in
// the order parsed: what consecutive indicators share (one provenance for
// a list or a `domain|ip`, an event's strings and tags) is counted once.
func indicatorBytes(inds []*Indicator) int64 {
	var (
		n                  int64
		last               *Provenance
		event, tags, techs unsafe.Pointer
	)
	for _, i := range inds {
		n += int64(unsafe.Sizeof(*i)) + int64(len(i.Value)) + 8 // + its pointer in the sorted slice
		p := i.Prov
		if p == nil || p == last {
			continue
		}
		last = p
		n += int64(unsafe.Sizeof(*p)) + int64(len(p.AttributeUUID)+len(p.AttributeType)+len(p.Value))
		if e := unsafe.Pointer(unsafe.StringData(p.EventUUID)); e != event {
			event = e
			n += int64(len(p.EventUUID) + len(p.EventInfo))
		}
		if len(p.Tags) > 0 && unsafe.Pointer(&p.Tags[0]) != tags {
			tags = unsafe.Pointer(&p.Tags[0])
			n += stringsBytes(p.Tags)
		}
		if len(p.Techniques) > 0 && unsafe.Pointer(&p.Techniques[0]) != techs {
			techs = unsafe.Pointer(&p.Techniques[0])
			n += stringsBytes(p.Techniques)
		}
	}
	return n
}

func stringsBytes(list []string) int64 {
	n := int64(0)
	for _, s := range list {
		n += stringHeader + int64(len(s))
	}
	return n
}

// normalName lowers a name and drops its final dot.
func normalName(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".")
}

// unmapAddr makes an IPv4-mapped IPv6 address the IPv4 one.
func unmapAddr(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }
