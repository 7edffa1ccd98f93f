package agent

import (
	"io"
	"log/slog"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/observe/network"
	"github.com/vigil-sec/vigil/internal/observe/observetest"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// An agent run with --observe cpu,memory: a busy process in the test's
// cgroup shows up as a series labelled with the cgroup's path, with
// on-CPU time and run-queue waits, and the observers run as sensors.
func TestObserversSeries(t *testing.T) {
	cg := testenv.NewCgroup(t)
	r := start(t, Config{Cgroup: cg.Path, Observe: observe.Config{Observers: []string{observe.CPU, observe.Memory}}})
	running := map[string]bool{}
	for _, s := range r.Sensors() {
		running[s.Name] = s.Running
	}
	if !running["observe_cpu"] || !running["observe_memory"] || running["observe_io"] {
		t.Fatalf("sensors %v; want observe_cpu and observe_memory running, no observe_io", r.Sensors())
	}
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sh: %v\n%s", err, out)
	}
	want := "/" + cg.Rel()
	deadline := time.Now().Add(waitLimit)
	for {
		for _, s := range r.ObserveSnapshot().Series {
			if s.Cgroup == want && s.Stats.OnCPUNs > 0 && s.Stats.RunQueue.Count() > 0 {
				if s.Container != "" {
					t.Errorf("a test cgroup is named as container %q", s.Container)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no series for %s with on-CPU time and run-queue waits", want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The agent's network observer (loaded as the agent loads it, without
// the rest of the agent): a cgroup that made a TCP connection has an
// entry in the kernel table; once the cgroup is removed, the next scrape
// that prunes deletes the entry and counts it in ObserveSnapshot's Pruned
// (vigil_observe_pruned_total).
func TestObserverPrunesRemovedCgroup(t *testing.T) {
	testenv.RequirePrivileged(t)
	o, err := network.Load(observetest.Ring(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	cg := testenv.NewCgroup(t)
	a := &Agent{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	a.perf.fs = observe.NewCgroupfs(cg.Root, "")
	a.perf.observers = []observe.Observer{o}
	id := observetest.CgroupID(t, cg)
	observetest.Connect(t, cg)
	inTable := func() bool {
		ids, err := o.CgroupIDs()
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(ids, id)
	}
	deadline := time.Now().Add(waitLimit)
	for !inTable() {
		if time.Now().After(deadline) {
			t.Fatalf("cgroup %d never reached the network observer's table", id)
		}
		time.Sleep(100 * time.Millisecond)
	}
	before := a.ObserveSnapshot().Pruned[observe.Network]
	observetest.RemoveCgroup(t, cg.Path)
	a.perf.lastPrune = time.Time{} // the next scrape prunes
	after := a.ObserveSnapshot().Pruned[observe.Network]
	t.Logf("pruned %d before the removal, %d after", before, after)
	if inTable() {
		t.Errorf("the removed cgroup %d is still in the table after a prune", id)
	}
	if after <= before {
		t.Errorf("pruned %d before the removal, %d after; want more", before, after)
	}
}
