// Package memory is the memory observer: OOM kills per cgroup v2, counted
// in the kernel at mark_victim (tp_btf) and each also reported as an
// oom_kill record on the ring buffer, and the memory use and major page
// faults the kernel keeps in cgroupfs. Major faults come from memory.stat
// (pgmajfault) because no hook this kernel offers sees them: the
// page-fault tracepoints carry no major flag and the fault handler's
// return (a kretprobe or fexit) cannot be attached here.
package memory

import (
	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/ring"
)

// Observer is the loaded memory observer.
type Observer struct {
	observe.Object
	fs *observe.Cgroupfs
}

// Load loads and attaches the observer; cgroups sizes its per-cgroup
// table (0: observe.DefaultCgroups). fs, when set, reads every cgroup's
// memory use and major faults.
func Load(r *ring.Ring, cgroups int, fs *observe.Cgroupfs) (*Observer, error) {
	obj, err := observe.LoadObject(r, observe.Memory, loadMemory, cgroups)
	if err != nil {
		return nil, err
	}
	return &Observer{Object: obj, fs: fs}, nil
}

// Name is observe.Memory.
func (o *Observer) Name() string { return observe.Memory }

// Read adds every cgroup's OOM kills, and the memory figures of every
// cgroup that has them.
func (o *Observer) Read(s *observe.Snapshot) error {
	err := observe.ReadPerCPU(o.Coll.Maps[memoryMapStats], func(id uint64, per []memoryMemStats) {
		st := s.Cgroup(id)
		for _, v := range per {
			st.OOMKills += v.OomKills
		}
	})
	if err != nil {
		return err
	}
	if o.fs != nil {
		for id, rel := range o.fs.IDs() {
			var st observe.Stats
			if o.fs.ReadMemory(rel, &st); st.Memory {
				c := s.Cgroup(id)
				c.Memory, c.MemoryBytes, c.MajorFaults, c.MemoryReadFrom = true, st.MemoryBytes, st.MajorFaults, st.MemoryReadFrom
			}
		}
	}
	return observe.ReadLosses(observe.Memory, o.Loaded, s)
}
