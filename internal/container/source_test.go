package container

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// pods is a Source that knows pod names in memory and leaves container
// names to a later lookup.
type pods struct {
	names     map[string]string // pod uid → name
	complete  bool
	requested []Identity
	filled    int
}

func (p *pods) Fill(id Identity, c *event.Container) bool {
	p.filled++
	if name, ok := p.names[id.PodUID]; ok {
		c.Pod = &event.Pod{UID: id.PodUID, Name: name}
	}
	return p.complete
}

func (p *pods) Request(id Identity) { p.requested = append(p.requested, id) }

// TestSourceFillsAtFirstBindAndSettles: what the source knows in memory is
// on the container's first value; what it must look up leaves the
// container pending until Settle.
func TestSourceFillsAtFirstBindAndSettles(t *testing.T) {
	src := &pods{names: map[string]string{pod: "web-7d9"}}
	r := NewResolver(16)
	r.Table().SetSource(src)
	path := "/kubepods/pod" + pod + "/" + id1
	ref := r.Bind(path)
	if c := ref.Load(); c.Pod == nil || c.Pod.Name != "web-7d9" || c.Runtime != RuntimeContainerd || c.ID != id1 {
		t.Fatalf("first value %+v (pod %+v), want the path's facts and the source's pod", c, c.Pod)
	}
	if !ref.Pending() || len(src.requested) != 1 || src.requested[0].ID != id1 {
		t.Fatalf("pending %v, requests %+v: want one request for %s", ref.Pending(), src.requested, id1)
	}
	r.Bind(path)
	r.Table().bind(Identity{ID: id1, Runtime: RuntimeContainerd, PodUID: pod})
	if src.filled != 1 || len(src.requested) != 1 {
		t.Errorf("filled %d times, %d requests: a container is asked about once", src.filled, len(src.requested))
	}
	r.Table().Update(id1, func(c *event.Container) { c.Name = "nginx" })
	r.Table().Settle(id1)
	if ref.Pending() || ref.Load().Name != "nginx" || ref.Load().Pod.Name != "web-7d9" {
		t.Errorf("after settle: pending %v, %+v", ref.Pending(), ref.Load())
	}
}

// TestCompleteSourceLeavesNothingPending: a container the source knew all
// of at once is never pending and never looked up.
func TestCompleteSourceLeavesNothingPending(t *testing.T) {
	src := &pods{complete: true}
	r := NewResolver(16)
	r.Table().SetSource(src)
	if ref := r.Bind("/docker/" + id1); ref.Pending() || len(src.requested) != 0 {
		t.Errorf("pending %v, requests %v", ref.Pending(), src.requested)
	}
	if ref := r.Bind("/user.slice"); ref.Pending() || src.filled != 1 {
		t.Errorf("host: pending %v, filled %d", ref.Pending(), src.filled)
	}
}
