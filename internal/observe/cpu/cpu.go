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
type Observer struct {
	observe.Object
	fs *observe.Cgroupfs
}

// Load loads and attaches the observer; cgroups sizes its per-cgroup
// table (0: observe.DefaultCgroups). fs, when set, reads throttling.
func Load(r *ring.Ring, cgroups int, fs *observe.Cgroupfs) (*Observer, error) {
	obj, err := observe.LoadObject(r, observe.CPU, loadCpu, cgroups)
	if err != nil {
		return nil, err
	}
	return &Observer{Object: obj, fs: fs}, nil
}

// Name is observe.CPU.
func (o *Observer) Name() string { return observe.CPU }

// Read adds every cgroup's run-queue latency, on-CPU time and throttling.
func (o *Observer) Read(s *observe.Snapshot) error {
	err := observe.ReadPerCPU(o.Coll.Maps[cpuMapStats], func(id uint64, per []cpuCpuStats) {
		st := s.Cgroup(id)
		for _, v := range per {
			st.RunQueue.Add(&v.Runq.Slots, v.Runq.SumNs)
			st.OnCPUNs += v.OncpuNs
		}
		if o.fs != nil {
			if rel, ok := o.fs.Path(id); ok {
				o.fs.ReadCPU(rel, st)
			}
		}
	})
	if err != nil {
		return err
	}
	return observe.ReadLosses(observe.CPU, o.Loaded, s)
}
