package agent

import (
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/event"
)

// askedSource is a metadata source that knows nothing in memory and tells
// the test of each lookup asked of it, so the test decides when (and
// whether) the container is named.
type askedSource struct {
	table *container.Table
	asked chan container.Identity
}

func newAskedSource() *askedSource {
	return &askedSource{asked: make(chan container.Identity, 64)}
}

func (s *askedSource) config(cfg Config) Config {
	cfg.Containers = func(t *container.Table) container.Source {
		s.table = t
		return s
	}
	return cfg
}

func (s *askedSource) Fill(container.Identity, *event.Container) bool { return false }

func (s *askedSource) Request(id container.Identity) {
	select {
	case s.asked <- id:
	default:
	}
}

// waitAsked waits for the lookup of container id.
func (s *askedSource) waitAsked(t *testing.T, id string) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case got := <-s.asked:
			if got.ID == id {
				return
			}
		case <-deadline:
			t.Fatalf("the source was not asked about container %s within %v", id, waitLimit)
		}
	}
}

// runContainer runs the test container with args and returns a wait for
// its end.
func runContainer(t *testing.T, ctr *testContainer, args ...string) func() {
	t.Helper()
	setContainerArgs(t, ctr.bundle, args...)
	run := exec.Command(ctr.runc, "run", "--bundle", ctr.bundle, ctr.name)
	var out strings.Builder
	run.Stdout, run.Stderr = &out, &out
	if err := run.Start(); err != nil {
		t.Fatalf("runc run: %v", err)
	}
	var once sync.Once
	wait := func() {
		once.Do(func() {
			if err := run.Wait(); err != nil {
				t.Errorf("runc run: %v\n%s", err, out.String())
			}
		})
	}
	t.Cleanup(func() {
		wait()
		ctr.remove()
	})
	return wait
}

func inContainer(id string, kind event.Kind, arg string) func(*event.Event) bool {
	return func(ev *event.Event) bool {
		return withArg(kind, arg)(ev) && ev.Process.Container != nil && ev.Process.Container.ID == id
	}
}

// TestFirstExecHeldUntilNamed: while the metadata source looks a new
// container up, its events wait; once it settles, the container's first
// exec, its children and their parent carry the names it found.
func TestFirstExecHeldUntilNamed(t *testing.T) {
	ctr := newTestContainer(t)
	src := newAskedSource()
	r := start(t, src.config(Config{ContainerHold: time.Hour}))
	wait := runContainer(t, ctr, "/bin/sh", "-c", "/bin/true held; exit 0")

	src.waitAsked(t, ctr.id)
	wait() // the container has run to its end
	// the pipeline has read its records: the shell's exec, its fork, the
	// child's exec and the exits are held (four at least), not delivered
	deadline := time.Now().Add(waitLimit)
	for r.hold.stats.pending.Load() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d events held after %v: want the container's exec, fork, exec and exits", r.hold.stats.pending.Load(), waitLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if held := r.sink.find(func(ev *event.Event) bool {
		return ev.Process != nil && ev.Process.Container != nil && ev.Process.Container.ID == ctr.id
	}); len(held) != 0 {
		t.Fatalf("%d events of the container went out while it was being looked up: %v", len(held), held[0])
	}
	src.table.Update(ctr.id, func(c *event.Container) { c.Name, c.Image = "held-web", "busybox:held" })
	src.table.Settle(ctr.id)

	shell := r.waitFor(t, "the shell's exec", inContainer(ctr.id, event.KindProcessExec, "-c"))
	child := r.waitFor(t, "the child's exec", inContainer(ctr.id, event.KindProcessExec, "held"))
	if c := shell.Process.Container; c.Name != "held-web" || c.Image != "busybox:held" {
		t.Errorf("first exec's container = %+v, want the name found while it was held", c)
	}
	if c := child.Process.Container; c.Name != "held-web" {
		t.Errorf("child's container = %+v", c)
	}
	if p := child.Parent; p == nil || p.PID != shell.Process.PID || p.Container == nil || p.Container.Name != "held-web" {
		t.Errorf("child's parent = %+v, want the named shell", p)
	}
	st := &r.hold.stats
	if st.held.Load() < 2 || st.settled.Load() != 1 || st.gaveUp.Load() != 0 || st.overflow.Load() != 0 {
		t.Errorf("held %d, settled %d, gave up %d, overflow %d; want ≥ 2, 1, 0, 0",
			st.held.Load(), st.settled.Load(), st.gaveUp.Load(), st.overflow.Load())
	}
}

// TestHoldGivesUp: a container the source never settles is released
// unnamed once held for the limit, and the release is counted.
func TestHoldGivesUp(t *testing.T) {
	ctr := newTestContainer(t)
	src := newAskedSource()
	r := start(t, src.config(Config{ContainerHold: time.Nanosecond}))
	runContainer(t, ctr, "/bin/sh", "-c", "/bin/true unnamed; exit 0")

	src.waitAsked(t, ctr.id)
	ev := r.waitFor(t, "the child's exec", inContainer(ctr.id, event.KindProcessExec, "unnamed"))
	if ev.Process.Container.Name != "" {
		t.Errorf("container %+v: named by no one", ev.Process.Container)
	}
	if st := &r.hold.stats; st.gaveUp.Load() < 1 || st.settled.Load() != 0 {
		t.Errorf("gave up %d, settled %d; want ≥ 1, 0", st.gaveUp.Load(), st.settled.Load())
	}
}

// TestHolderOverflowReleasesOldestInOrder: past its limit the holder lets
// the oldest container's events go, in the order they came, and counts it;
// records of other processes are never held.
func TestHolderOverflowReleasesOldestInOrder(t *testing.T) {
	res := container.NewResolver(16)
	res.Table().SetSource(newAskedSource())
	h := newHolder(res)
	h.max = 3
	var out []*event.Event
	pass := func(ev *event.Event) { out = append(out, ev) }
	exec := func(pid uint32, id string) *event.Event {
		return &event.Event{Kind: event.KindProcessExec, Process: &event.Process{PID: pid,
			Cgroup: event.Cgroup{Path: "/docker/" + id}}}
	}
	idA, idB := strings.Repeat("a", 64), strings.Repeat("b", 64)
	a1, fork, a2 := exec(10, idA), &event.Event{Kind: event.KindProcessFork, Process: &event.Process{PID: 11, PPID: 10}}, exec(11, idA)
	other := &event.Event{Kind: event.KindFileOpen, Process: &event.Process{PID: 99}}
	for _, ev := range []*event.Event{a1, fork, other, a2} {
		if held := h.intercept(ev, pass); held == (ev == other) {
			t.Fatalf("event of pid %d: held %v", ev.Process.PID, held)
		}
	}
	if !h.intercept(exec(20, idB), pass) {
		t.Fatal("the second container's exec was not held")
	}
	if len(out) != 3 || out[0] != a1 || out[1] != fork || out[2] != a2 {
		t.Fatalf("released %v, want the first container's three events in order", out)
	}
	if h.stats.overflow.Load() != 1 || h.stats.pending.Load() != 1 || h.pids[10] != nil {
		t.Errorf("overflow %d, pending %d, pid 10 still held: %v", h.stats.overflow.Load(), h.stats.pending.Load(), h.pids[10] != nil)
	}
	h.releaseAll(pass)
	if len(out) != 4 || h.holding() {
		t.Errorf("after releaseAll: %d released, holding %v", len(out), h.holding())
	}
}
