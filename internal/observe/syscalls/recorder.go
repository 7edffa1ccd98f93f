// Package syscalls records which system calls the tasks of chosen cgroup v2
// subtrees make, with their calling convention, in a bitmap per subtree
// that a program on the raw sys_enter tracepoint fills in the kernel: no
// record per call crosses the ring buffer, so none can be lost however
// fast the calls come. Numbers the bitmap cannot hold are counted.
package syscalls

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"sync"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfload"
	"github.com/vigil-sec/vigil/internal/ring"
)

// Arch is a calling convention, as syscalls.h's enum sc_arch numbers it.
type Arch int

// The conventions the recorder tells apart.
const (
	Native Arch = iota // x86-64's syscall instruction
	X32                // x86-64 syscall with __X32_SYSCALL_BIT
	IA32               // int $0x80 / sysenter (ia32 compat)
	archCount
)

func (a Arch) String() string {
	switch a {
	case Native:
		return "native"
	case X32:
		return "x32"
	case IA32:
		return "ia32"
	}
	return fmt.Sprintf("arch(%d)", int(a))
}

// MaxNr bounds the call numbers the bitmap holds (syscalls.h SC_NR_MAX).
const MaxNr = len(syscallsScBitmap{}.Words[0]) * 64

// Slots bounds how many cgroups are recorded at once (SC_SLOTS).
const Slots = 64

// maxLevel is the deepest level a recorded cgroup may sit at (SC_LEVELS-1).
const maxLevel = 31

// ErrFull means every slot is taken.
var ErrFull = errors.New("recorder: every cgroup slot is taken")

// Counters are the recorder's per-CPU counters, summed (syscalls.h enum
// sc_counter).
type Counters struct {
	Calls      uint64 // calls by tasks in recorded cgroups
	OutOfRange uint64 // numbers >= MaxNr: not recorded
	Negative   uint64 // negative numbers (no call)
	NoBitmap   uint64 // a slot without a bitmap (never expected)
}

// Missed is how many calls the bitmaps do not show.
func (c Counters) Missed() uint64 { return c.OutOfRange + c.NoBitmap }

// Set is the calls of one recorded cgroup: a bit per (Arch, number).
type Set struct {
	words [archCount][MaxNr / 64]uint64
}

// Has reports whether call nr of arch was made.
func (s *Set) Has(arch Arch, nr int) bool {
	if arch < 0 || arch >= archCount || nr < 0 || nr >= MaxNr {
		return false
	}
	return s.words[arch][nr/64]&(1<<(nr%64)) != 0
}

// Numbers are the call numbers of arch that were made, ascending.
func (s *Set) Numbers(arch Arch) []int {
	var nrs []int
	for w, word := range s.words[arch] {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			nrs = append(nrs, w*64+b)
			word &^= 1 << b
		}
	}
	return nrs
}

// Union adds o's calls to s.
func (s *Set) Union(o *Set) {
	for a := range s.words {
		for w := range s.words[a] {
			s.words[a][w] |= o.words[a][w]
		}
	}
}

// Recorder is the loaded program and its maps.
type Recorder struct {
	ring *ring.Ring
	obj  *bpfload.Loaded
	// the collection's maps, which it keeps owning
	settings, recorded, bitmaps, counters *ebpf.Map

	mu     sync.Mutex
	slots  map[uint64]uint32 // cgroup id → slot
	levels uint64
}

// Open loads the recorder and attaches it; it records nothing until
// Record names a cgroup. The calling process itself is never recorded.
func Open() (*Recorder, error) {
	spec, err := loadSyscalls()
	if err != nil {
		return nil, err
	}
	// the object shares bpf/lib's ring maps but writes no record: one page
	r, err := ring.New(ring.Config{Size: os.Getpagesize(), Scope: ring.Scope{AgentPID: uint32(os.Getpid())}})
	if err != nil {
		return nil, err
	}
	rec := &Recorder{ring: r, slots: map[uint64]uint32{}}
	rec.obj, err = bpfload.Load(r, bpfload.Object{
		Name: "syscall recorder",
		Spec: spec,
		Setup: func(c *ebpf.Collection) error {
			rec.settings, rec.recorded = c.Maps[syscallsMapSettings], c.Maps[syscallsMapRecorded]
			rec.bitmaps, rec.counters = c.Maps[syscallsMapBitmaps], c.Maps[syscallsMapCounters]
			return nil
		},
	})
	if err != nil {
		_ = r.Close() // best effort: err is what failed
		return nil, err
	}
	return rec, nil
}

// Record adds the cgroup v2 subtree whose root has id and lies level
// below the hierarchy's root (kernel.CgroupID, kernel.CgroupLevel), and
// returns its slot. Calls are recorded from the moment Record returns;
// recording a cgroup twice returns its slot.
func (r *Recorder) Record(id uint64, level int) (uint32, error) {
	if level < 0 || level > maxLevel {
		return 0, fmt.Errorf("cgroup level %d: the recorder reaches levels 0-%d", level, maxLevel)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if slot, ok := r.slots[id]; ok {
		return slot, nil
	}
	if len(r.slots) >= Slots {
		return 0, ErrFull
	}
	slot := uint32(len(r.slots))
	if err := r.recorded.Put(id, slot); err != nil {
		return 0, fmt.Errorf("record cgroup %d: %w", id, err)
	}
	r.slots[id] = slot
	r.levels |= 1 << level
	cfg := syscallsScConfig{Levels: r.levels}
	if err := r.settings.Put(uint32(0), &cfg); err != nil {
		return 0, fmt.Errorf("record cgroup %d: set levels: %w", id, err)
	}
	return slot, nil
}

// Calls reads the calls recorded so far in slot.
func (r *Recorder) Calls(slot uint32) (*Set, error) {
	var bm syscallsScBitmap
	if err := r.bitmaps.Lookup(slot, &bm); err != nil {
		return nil, fmt.Errorf("read bitmap %d: %w", slot, err)
	}
	return &Set{words: bm.Words}, nil
}

// Counters sums the per-CPU counters.
func (r *Recorder) Counters() (Counters, error) {
	var sums [4]uint64
	for i := range sums {
		var perCPU []uint64
		if err := r.counters.Lookup(uint32(i), &perCPU); err != nil {
			return Counters{}, fmt.Errorf("read counter %d: %w", i, err)
		}
		for _, n := range perCPU {
			sums[i] += n
		}
	}
	return Counters{Calls: sums[0], OutOfRange: sums[1], Negative: sums[2], NoBitmap: sums[3]}, nil
}

// Close detaches the program and frees the maps.
func (r *Recorder) Close() error {
	errs := []error{r.obj.Close(), r.ring.Close()}
	return errors.Join(errs...)
}
