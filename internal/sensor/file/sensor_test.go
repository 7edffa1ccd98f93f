package file

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// Every program the object holds is named for the agent's statistics,
// and loaded; on this kernel every tracepoint exists, so nothing is
// degraded.
func TestSensorNamesItsProgramsAndWhatItLacks(t *testing.T) {
	w := watch(t, only(Config{}))
	spec, err := loadFile()
	if err != nil {
		t.Fatal(err)
	}
	progs := w.sensor.Programs()
	if len(progs) != len(spec.Programs) {
		t.Errorf("%d programs named, the object has %d", len(progs), len(spec.Programs))
	}
	for _, name := range []string{"exit_openat", "exit_unlinkat", "exit_memfd_create"} {
		p := progs[name]
		if p == nil {
			t.Fatalf("no program %s in %v", name, slices.Sorted(maps.Keys(progs)))
		}
		if info, err := p.Info(); err != nil {
			t.Errorf("%s: %v", name, err)
		} else if _, ok := info.ID(); !ok {
			t.Errorf("%s has no id", name)
		}
	}
	missing := w.sensor.Missing()
	if got := w.sensor.Degraded(); (got == "") != (len(missing) == 0) {
		t.Errorf("degraded %q with tracepoints missing %v", got, missing)
	}
	// the kernels vigil is tested on (6.18) have every call, fchmodat2 included
	if len(missing) > 0 {
		t.Errorf("tracepoints missing on this kernel: %v", missing)
	}
}

func TestSensorDegradedNamesTheCallsUnseen(t *testing.T) {
	s := &Sensor{missing: []string{"sys_exit_fchmodat2", "sys_exit_openat2"}}
	got := s.Degraded()
	if !strings.Contains(got, "fchmodat2, openat2") || strings.Contains(got, "sys_exit_") {
		t.Errorf("degraded %q, want the calls named", got)
	}
	if (&Sensor{}).Degraded() != "" {
		t.Error("a sensor with every tracepoint says it is degraded")
	}
}
