package event

import "sync/atomic"

// A Process is published once and then serialized many times: as the
// process of its exec, of its exit and of every other event it causes, and
// as the parent of its children's events. Its JSON is therefore computed
// once and kept with it.

// jsonCache remembers the encoding of the Process it was made for; a copy
// of the struct (which copies the pointer) is a different Process and
// encodes itself afresh.
type jsonCache struct {
	owner *Process
	raw   atomic.Pointer[[]byte]
}

// processFields has Process's fields and JSON tags but not its methods:
// what encoding/json makes of a Process, which appendProcessFields mirrors.
type processFields Process

// MarshalJSON encodes p, from the cache when p was encoded before. Safe for
// concurrent use: racing encoders compute the same bytes.
func (p *Process) MarshalJSON() ([]byte, error) {
	c := p.cache
	if c == nil || c.owner != p {
		return appendProcessFields(make([]byte, 0, sizeHint(p)), p)
	}
	if raw := c.raw.Load(); raw != nil {
		return *raw, nil
	}
	// kept as long as p is: at its length, not at the estimate's (some
	// 200 bytes more for a short command line, BenchmarkProcessCacheMemory
	// in internal/agent); written on the stack first when it fits there
	var buf [1536]byte
	b := buf[:0]
	if n := sizeHint(p); n > len(buf) {
		b = make([]byte, 0, n)
	}
	b, err := appendProcessFields(b, p)
	if err != nil {
		return nil, err
	}
	raw := append(make([]byte, 0, len(b)), b...)
	c.raw.Store(&raw)
	return raw, nil
}

// sizeHint is about the length of p's JSON, so that it is written into one
// buffer instead of one regrown a dozen times: the fixed members and
// numbers (some 500 bytes at most) and the strings, unescaped.
func sizeHint(p *Process) int {
	n := 512 + len(p.Comm) + len(p.Binary) + len(p.Filename) + len(p.Script) + len(p.Cwd) +
		len(p.TTY) + len(p.ExecID) + len(p.ParentExecID) + len(p.Cgroup.Path) +
		len(p.BinaryPackage) + len(p.LoadedProgram) + len(p.User)
	for _, a := range p.Args {
		n += len(a) + 3
	}
	for k, v := range p.Env {
		n += len(k) + len(v) + 6
	}
	if c := p.Container; c != nil {
		n += 128 + len(c.ID) + len(c.Name) + len(c.Image) + len(c.ImageDigest)
	}
	return n
}

// Seal marks p as published: from now on it is not modified, and its JSON
// may be cached. The enrich stage seals every Process it stores.
func (p *Process) Seal() {
	if p.cache == nil || p.cache.owner != p {
		p.cache = &jsonCache{owner: p}
	}
}

// Clone returns a modifiable copy of p, not sealed.
func (p *Process) Clone() *Process {
	c := *p
	c.cache = nil
	return &c
}
