// Package cpu is the CPU observer: run-queue latency (a log2 histogram)
// and on-CPU time per cgroup v2, counted in the kernel at sched_switch
// (tp_btf) from the scheduler's own schedstat stamps (sched_info), and CPU
// throttling read from the cgroups' cpu.stat.
package cpu

import (
	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/ring"
)

// Observer is the loaded CPU observer.
type Observer = observe.Table[cpuCpuStats]

// Load loads and attaches the observer; cgroups sizes its per-cgroup
// table (0: observe.DefaultCgroups). fs, when set, reads throttling.
func Load(r *ring.Ring, cgroups int, fs *observe.Cgroupfs) (*Observer, error) {
	// add adds a cgroup's run-queue latency, on-CPU time and throttling.
	add := func(id uint64, st *observe.Stats, per []cpuCpuStats) {
		for _, v := range per {
			st.RunQueue.Add(&v.Runq.Slots, v.Runq.SumNs)
			st.OnCPUNs += v.OncpuNs
		}
		if fs != nil {
			if rel, ok := fs.Path(id); ok {
				fs.ReadCPU(rel, st)
			}
		}
	}
	return observe.LoadTable(r, cgroups, observe.TableSpec[cpuCpuStats]{Name: observe.CPU, Load: loadCpu, Add: add})
}
