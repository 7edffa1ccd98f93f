package container

import (
	"fmt"
	"sync"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// containerID makes the i-th of many distinct container ids.
func containerID(i int) string { return fmt.Sprintf("%064x", i+1) }

// TestUpdateReachesBoundReferences: a reference bound at exec shows what
// is learnt afterwards; the value read before stays as it was.
func TestUpdateReachesBoundReferences(t *testing.T) {
	r := NewResolver(16)
	ref := r.Bind("/kubepods/pod" + pod + "/" + id1)
	before := ref.Load()
	if before.Name != "" || before.Pod == nil || before.Pod.UID != pod {
		t.Fatalf("at exec: %+v, want the path's facts only", before)
	}
	r.Table().Update(id1, func(c *event.Container) {
		c.Name, c.Image = "web", "nginx:1.27"
		c.Pod = &event.Pod{UID: c.Pod.UID, Name: "web-7d9", Namespace: "shop"}
	})
	after := ref.Load()
	if after.Name != "web" || after.Image != "nginx:1.27" || after.Pod.Name != "web-7d9" || after.Runtime != RuntimeContainerd {
		t.Errorf("after the update: %+v (pod %+v)", after, after.Pod)
	}
	if before.Name != "" || before.Pod.Name != "" {
		t.Errorf("the value read before the update changed: %+v (pod %+v)", before, before.Pod)
	}
	if got := r.Resolve("/kubepods/pod" + pod + "/" + id1); got != after {
		t.Errorf("resolve = %+v, want the updated value", got)
	}
}

// TestUpdateBeforeFirstExec: metadata that arrives before the container's
// first exec is kept, and the path adds what it knows.
func TestUpdateBeforeFirstExec(t *testing.T) {
	r := NewResolver(16)
	r.Table().Update(id2, func(c *event.Container) { c.Name = "db" })
	c := r.Resolve("/docker/" + id2)
	if c.ID != id2 || c.Name != "db" || c.Runtime != RuntimeDocker {
		t.Errorf("resolve = %+v, want the update's name and the path's runtime", c)
	}
}

// TestTableBound: the table never holds more than its cap, counts what it
// evicts, keeps the containers bound lately, and a resolver that cached an
// evicted container's slot binds a live one again.
func TestTableBound(t *testing.T) {
	const max = 4
	r := NewResolver(max)
	first := r.Bind("/docker/" + containerID(0))
	for i := 1; i < 3*max; i++ {
		r.Bind("/docker/" + containerID(i))
		r.Bind("/docker/" + containerID(0)) // busy: execs all the time
		if s := r.Table().Stats(); s.Entries > max {
			t.Fatalf("after %d containers the table holds %d, cap %d", i+1, s.Entries, max)
		}
	}
	s := r.Table().Stats()
	if s.Entries != max || s.Evictions != 3*max-max {
		t.Errorf("stats = %+v, want %d entries and %d evictions", s, max, 3*max-max)
	}
	if r.Table().Lookup(containerID(0)) == nil {
		t.Error("the busy container was evicted")
	}
	if r.Table().Lookup(containerID(1)) != nil {
		t.Error("an idle container outlived the cap")
	}

	// an evicted container comes back as a fresh slot, for new and cached paths
	r.Bind("/docker/" + containerID(1))
	for i := 100; i < 100+2*max; i++ {
		r.Bind("/docker/" + containerID(i))
	}
	if r.Table().Lookup(containerID(0)) != nil {
		t.Fatal("container 0 was not evicted by a run of new ones")
	}
	again := r.Bind("/docker/" + containerID(0))
	if again == first {
		t.Error("the resolver handed out an evicted slot's reference")
	}
	r.Table().Update(containerID(0), func(c *event.Container) { c.Name = "back" })
	if again.Load().Name != "back" {
		t.Errorf("the re-bound reference misses updates: %+v", again.Load())
	}
}

// TestTableConcurrentUpdates: updates from other goroutines while the
// pipeline binds and reads (run with -race).
func TestTableConcurrentUpdates(t *testing.T) {
	r := NewResolver(8)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				r.Table().Update(containerID(i%12), func(c *event.Container) { c.Name = fmt.Sprint("n", i) })
				r.Table().Stats()
			}
		}()
	}
	for i := 0; i < 2000; i++ {
		if c := r.Resolve("/docker/" + containerID(i%12)); c.ID != containerID(i%12) {
			t.Fatalf("resolve = %+v, want id %s", c, containerID(i%12))
		}
	}
	wg.Wait()
	if s := r.Table().Stats(); s.Entries > 8 {
		t.Errorf("table holds %d, cap 8", s.Entries)
	}
}
