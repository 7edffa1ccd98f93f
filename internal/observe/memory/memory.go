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
type Observer = observe.Table[memoryMemStats]

// Load loads and attaches the observer; cgroups sizes its per-cgroup
// table (0: observe.DefaultCgroups). fs, when set, reads every cgroup's
// memory use and major faults.
func Load(r *ring.Ring, cgroups int, fs *observe.Cgroupfs) (*Observer, error) {
	spec := observe.TableSpec[memoryMemStats]{Name: observe.Memory, Load: loadMemory, Add: add}
	if fs != nil {
		spec.Then = func(s *observe.Snapshot) error { readCgroupfs(fs, s); return nil }
	}
	return observe.LoadTable(r, cgroups, spec)
}

// add adds a cgroup's OOM kills.
func add(_ uint64, st *observe.Stats, per []memoryMemStats) {
	for _, v := range per {
		st.OOMKills += v.OomKills
	}
}

// readCgroupfs adds the memory figures of every cgroup that has them.
func readCgroupfs(fs *observe.Cgroupfs, s *observe.Snapshot) {
	for id, rel := range fs.IDs() {
		var st observe.Stats
		if fs.ReadMemory(rel, &st); st.Memory {
			c := s.Cgroup(id)
			c.Memory, c.MemoryBytes, c.MajorFaults, c.MemoryReadFrom = true, st.MemoryBytes, st.MajorFaults, st.MemoryReadFrom
		}
	}
}
