package agent

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/observe"
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
