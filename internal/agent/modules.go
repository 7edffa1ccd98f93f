package agent

import (
	"slices"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kmod"
	"github.com/vigil-sec/vigil/internal/metrics"
)

// Module inventory bounds.
const (
	// maxModuleLoads is how many module loads the agent remembers.
	maxModuleLoads = 256
	// moduleRefresh is how old the inventory may get before it is read
	// again; a module load seen makes it stale at once.
	moduleRefresh = time.Minute
)

// moduleBook is the kernel's module inventory as the agent serves it (API,
// metrics), read again when a minute old or when a load was seen, and
// the last module loads the agent saw, joined into it. Safe from any
// goroutine.
type moduleBook struct {
	root string // "/" but in tests

	mu    sync.Mutex
	loads []kmod.Load // oldest first, at most maxModuleLoads
	inv   *kmod.Inventory
	read  time.Time
	stale bool
}

// saw records a module load (or an attempt) from its event.
func (b *moduleBook) saw(ev *event.Event) {
	l := kmod.Load{Time: ev.Time}
	if p := ev.Process; p != nil {
		l.PID, l.UID, l.Binary = p.PID, p.UID, p.Binary
	}
	if s := ev.Syscall; s != nil {
		l.Syscall, l.Error = s.Name, s.Error
	}
	if m := ev.Module; m != nil {
		l.Name, l.Path = m.Name, m.Path
		if l.Name == "" && l.Path != "" {
			l.Name = kmod.NameOfPath(l.Path)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.loads) == maxModuleLoads {
		b.loads = slices.Delete(b.loads, 0, 1)
	}
	b.loads = append(b.loads, l)
	b.stale = true
}

// inventory is the current inventory with the loads joined in: each
// module gets the last successful load of its name the agent saw.
func (b *moduleBook) inventory(now time.Time) *kmod.Inventory {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inv == nil || b.stale || now.Sub(b.read) >= moduleRefresh {
		b.inv, b.read, b.stale = kmod.Read(b.root, kmod.Options{}), now, false
		for i := range b.inv.Modules {
			m := &b.inv.Modules[i]
			for j := len(b.loads) - 1; j >= 0; j-- {
				if l := b.loads[j]; l.Name == m.Name && l.Error == "" {
					m.Load = &l
					break
				}
			}
		}
		b.inv.Loads = slices.Clone(b.loads)
	}
	return b.inv
}

// Modules is the kernel's module inventory, with the module loads the
// agent saw: the local API's GET /v1/modules.
func (a *Agent) Modules() *kmod.Inventory { return a.modules.inventory(time.Now()) }

// moduleCounts counts the inventory's modules by kind and taint, for
// vigil_kernel_modules.
func (a *Agent) moduleCounts() []metrics.KernelModules {
	counts := a.Modules().CountByTaint()
	out := make([]metrics.KernelModules, 0, len(counts))
	for k, n := range counts {
		out = append(out, metrics.KernelModules{Kind: k[0], Taint: k[1], Count: n})
	}
	return out
}
