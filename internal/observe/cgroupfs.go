package observe

import (
	"bufio"
	"bytes"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Cgroupfs finds a cgroup v2 directory by id (its inode number) and reads
// the figures the kernel keeps there: cpu.stat's throttling, memory use
// and major faults. On a hybrid host, whose v2 hierarchy lacks the cpu
// and memory controllers, it reads the v1 hierarchy of that controller at
// the same relative path, which is where container runtimes put a
// container in every hierarchy.
type Cgroupfs struct {
	// Root is the cgroup v2 mount; V1 is the directory holding the v1
	// controllers' mounts (/sys/fs/cgroup), "" for none.
	Root, V1 string

	mu      sync.Mutex
	paths   map[uint64]string // id → path below Root
	scanned time.Time
}

// NewCgroupfs reads the v2 hierarchy at root, with v1 controllers under v1.
func NewCgroupfs(root, v1 string) *Cgroupfs {
	return &Cgroupfs{Root: root, V1: v1, paths: make(map[uint64]string)}
}

// rescanEvery bounds how often an unknown id makes Path walk the tree.
const rescanEvery = 5 * time.Second

// Path is the cgroup's path below the v2 root ("/" for the root itself);
// ok is false for a cgroup that no longer exists (or is not yet seen).
func (c *Cgroupfs) Path(id uint64) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.paths[id]; ok {
		return p, true
	}
	if time.Since(c.scanned) < rescanEvery {
		return "", false
	}
	c.scanLocked()
	p, ok := c.paths[id]
	return p, ok
}

// IDs are every cgroup the last walk found.
func (c *Cgroupfs) IDs() map[uint64]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.scanned) >= rescanEvery {
		c.scanLocked()
	}
	return maps.Clone(c.paths)
}

// Rescan walks the tree now and returns every cgroup it found by id; ok
// is false when the walk did not find the root itself (nothing found
// then means nothing, not that every cgroup is gone).
func (c *Cgroupfs) Rescan() (ids map[uint64]string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scanLocked()
	ids = maps.Clone(c.paths)
	for _, p := range ids {
		ok = ok || p == "/"
	}
	return ids, ok
}

func (c *Cgroupfs) scanLocked() {
	c.scanned = time.Now()
	paths := make(map[uint64]string, len(c.paths))
	_ = filepath.WalkDir(c.Root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil // a cgroup removed during the walk: skip it
		}
		var st unix.Stat_t
		if unix.Stat(path, &st) != nil {
			return nil
		}
		rel, _ := filepath.Rel(c.Root, path)
		paths[st.Ino] = "/" + filepath.ToSlash(rel)
		if rel == "." {
			paths[st.Ino] = "/"
		}
		return nil
	})
	c.paths = paths
}

// ReadCPU fills st's throttling from the cgroup's cpu.stat: v2's
// nr_throttled and throttled_usec, or v1's nr_throttled and throttled_time
// (ns). st.Throttled stays false when neither is there.
func (c *Cgroupfs) ReadCPU(rel string, st *Stats) {
	if kv, ok := readKV(filepath.Join(c.Root, rel, "cpu.stat")); ok {
		if _, has := kv["nr_throttled"]; has {
			st.Throttled, st.NrThrottled, st.ThrottledUsec = true, kv["nr_throttled"], kv["throttled_usec"]
			return
		}
	}
	if c.V1 == "" {
		return
	}
	if kv, ok := readKV(filepath.Join(c.V1, "cpu", rel, "cpu.stat")); ok {
		st.Throttled, st.NrThrottled, st.ThrottledUsec = true, kv["nr_throttled"], kv["throttled_time"]/1000
	}
}

// ReadMemory fills st's memory use and major faults: v2's memory.current
// and memory.stat pgmajfault, or v1's memory.usage_in_bytes and
// memory.stat total_pgmajfault (the cgroup and its children, as v2 counts).
func (c *Cgroupfs) ReadMemory(rel string, st *Stats) {
	dir := filepath.Join(c.Root, rel)
	if cur, ok := readUint(filepath.Join(dir, "memory.current")); ok {
		kv, _ := readKV(filepath.Join(dir, "memory.stat"))
		st.Memory, st.MemoryBytes, st.MajorFaults, st.MemoryReadFrom = true, cur, kv["pgmajfault"], "v2"
		return
	}
	if c.V1 == "" {
		return
	}
	dir = filepath.Join(c.V1, "memory", rel)
	if cur, ok := readUint(filepath.Join(dir, "memory.usage_in_bytes")); ok {
		kv, _ := readKV(filepath.Join(dir, "memory.stat"))
		st.Memory, st.MemoryBytes, st.MajorFaults, st.MemoryReadFrom = true, cur, kv["total_pgmajfault"], "v1"
	}
}

func readUint(path string) (uint64, bool) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(string(bytes.TrimSpace(raw)), 10, 64)
	return n, err == nil
}

// readKV reads a flat keyed file ("key value" lines).
func readKV(path string) (map[string]uint64, bool) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	kv := make(map[string]uint64)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		k, v, ok := bytes.Cut(sc.Bytes(), []byte{' '})
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			kv[string(k)] = n
		}
	}
	return kv, true
}
