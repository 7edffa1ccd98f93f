package agent

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

func moduleEvent(at time.Time, pid uint32, name, path, errName string) *event.Event {
	sys := "init_module"
	if path != "" {
		sys = "finit_module"
	}
	return &event.Event{Time: at, Kind: event.KindModuleLoad,
		Process: &event.Process{PID: pid, UID: 0, Binary: "/usr/sbin/insmod"},
		Syscall: &event.Syscall{Name: sys, Error: errName},
		Module:  &event.Module{Name: name, Path: path}}
}

// TestModuleBookJoinsLoads: a load the agent saw is joined into the
// inventory (read from the kmod fixture tree) by the module's name, or
// the name its file gives; a failed attempt is kept among the loads seen
// but joined to no module; the record stays bounded.
func TestModuleBookJoinsLoads(t *testing.T) {
	b := &moduleBook{root: "../kmod/testdata/root"}
	t0 := time.Unix(1_700_000_000, 0)
	inv := b.inventory(t0)
	if len(inv.Loads) != 0 {
		t.Fatalf("loads before any: %+v", inv.Loads)
	}
	b.saw(moduleEvent(t0, 10, "vh_signed", "", ""))
	b.saw(moduleEvent(t0.Add(time.Second), 11, "", "/lib/modules/6.1.0-vigil/extra/vh_outoftree.ko", ""))
	b.saw(moduleEvent(t0.Add(2*time.Second), 12, "", "/tmp/vh_unsigned.ko", "ENOSYS"))
	inv = b.inventory(t0.Add(3 * time.Second)) // stale after the loads: read again
	got := map[string]string{}
	for _, m := range inv.Modules {
		if m.Load != nil {
			got[m.Name] = fmt.Sprintf("%d %s", m.Load.PID, m.Load.Syscall)
		}
	}
	want := map[string]string{"vh_signed": "10 init_module", "vh_outoftree": "11 finit_module"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("joined loads %v, want %v", got, want)
	}
	if len(inv.Loads) != 3 || inv.Loads[2].Name != "vh_unsigned" || inv.Loads[2].Error != "ENOSYS" {
		t.Errorf("loads seen %+v", inv.Loads)
	}
	for i := range maxModuleLoads + 10 {
		b.saw(moduleEvent(t0, uint32(100+i), "x", "", ""))
	}
	if inv = b.inventory(t0); len(inv.Loads) != maxModuleLoads || inv.Loads[maxModuleLoads-1].PID != 100+maxModuleLoads+9 {
		t.Errorf("%d loads kept, last %+v; want the last %d", len(inv.Loads), inv.Loads[len(inv.Loads)-1], maxModuleLoads)
	}
}
