// Package procfs snapshots the processes that exist when vigil starts,
// from /proc, so that events of processes older than the agent still carry
// their ancestry. Take the snapshot after the sensors are attached: a
// process born in between is then seen twice, never missed. It also reads
// one process's stat (ReadStat), which enforcement uses to tell a process
// from a later one with the same pid; neither use is a sensor, so the
// package sits at the top of internal/ where both may import it.
package procfs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/capability"
	"github.com/vigil-sec/vigil/internal/event"
)

// Options say where to read and how to read cgroups.
type Options struct {
	// Proc is the procfs mount, normally /proc.
	Proc string
	// Cgroup2Root is the cgroup v2 mount, for cgroup ids.
	Cgroup2Root string
	// V1Controller names the v1 hierarchy to take the cgroup path from
	// when the v2 path is the root (hybrid hosts), "" on pure v2 hosts.
	V1Controller string
	// Time converts boot-clock nanoseconds to wall time.
	Time func(bootNS uint64) time.Time
}

// Snapshot reads every process. Processes that vanish while it reads are
// skipped; fields it cannot read are left empty and the process marked
// partial.
func Snapshot(opts Options) ([]*event.Process, error) {
	entries, err := os.ReadDir(opts.Proc)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", opts.Proc, err)
	}
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	procs := make([]*event.Process, 0, len(pids))
	caps := capability.NewTable(64)
	for _, pid := range pids {
		if p, ok := read(opts, pid, caps); ok {
			procs = append(procs, p)
		}
	}
	return procs, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every
// Linux architecture vigil builds for.
const clockTicks = 100

// Read reads one process, as Snapshot does; false when it is gone.
func Read(opts Options, pid int) (*event.Process, bool) { return read(opts, pid, nil) }

// read reads one process; caps, when not nil, shares the capability sets
// of the processes read with it.
func read(opts Options, pid int, caps *capability.Table) (*event.Process, bool) {
	dir := filepath.Join(opts.Proc, strconv.Itoa(pid))
	st, err := readStat(dir)
	if err != nil {
		return nil, false // gone
	}
	p := &event.Process{
		PID:       uint32(pid),
		TID:       uint32(pid),
		PPID:      st.PPID,
		Comm:      st.Comm,
		TTY:       ttyName(st.TTYNr),
		StartTime: opts.Time(st.StartTicks * (1e9 / clockTicks)),
		Args:      []string{},
	}
	complete := readStatus(dir, p, caps)
	if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
		p.Binary = strings.TrimSuffix(exe, " (deleted)")
		p.Executable = executable(dir, exe)
	} else if st.PPID != 2 && pid != 2 {
		complete = false // kernel threads have no exe; others should
	}
	if cwd, err := os.Readlink(filepath.Join(dir, "cwd")); err == nil {
		p.Cwd = cwd
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil && len(raw) > 0 {
		for _, a := range bytes.Split(bytes.TrimSuffix(raw, []byte{0}), []byte{0}) {
			p.Args = append(p.Args, string(a))
		}
	}
	if v, err := readUint(filepath.Join(dir, "loginuid")); err == nil && v != uint64(^uint32(0)) {
		auid := uint32(v)
		p.AUID = &auid
	}
	p.Namespaces = event.Namespaces{
		PID: nsInode(dir, "pid"),
		Mnt: nsInode(dir, "mnt"),
		Net: nsInode(dir, "net"),
	}
	p.Cgroup = readCgroup(dir, opts)
	p.Partial = !complete
	return p, true
}

// Stat is what vigil reads of /proc/PID/stat.
type Stat struct {
	Comm  string
	PPID  uint32
	TTYNr uint64
	// StartTicks is the process's start in clock ticks after boot.
	StartTicks uint64
}

// ReadStat parses /proc/PID/stat.
func ReadStat(pid uint32) (Stat, error) {
	return readStat("/proc/" + strconv.FormatUint(uint64(pid), 10))
}

// readStat parses DIR/stat. comm is in parentheses and may itself
// contain spaces and parentheses, so the fields are counted from the last ')'.
func readStat(dir string) (Stat, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return Stat{}, err
	}
	open, end := bytes.IndexByte(raw, '('), bytes.LastIndexByte(raw, ')')
	if open < 0 || end < open {
		return Stat{}, fmt.Errorf("%s/stat: no comm field", dir)
	}
	// fields after comm: state(3) ppid(4) pgrp session tty_nr(7) … starttime(22)
	f := strings.Fields(string(raw[end+1:]))
	if len(f) < 20 {
		return Stat{}, fmt.Errorf("%s/stat: %d fields", dir, len(f))
	}
	ppid, _ := strconv.ParseUint(f[1], 10, 32)
	tty, _ := strconv.ParseUint(f[4], 10, 64)
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return Stat{}, fmt.Errorf("%s/stat: starttime: %w", dir, err)
	}
	return Stat{Comm: string(raw[open+1 : end]), PPID: uint32(ppid), TTYNr: tty, StartTicks: start}, nil
}

// readStatus fills the ids from /proc/PID/status ("Uid: real effective
// saved fs"), the pid in the process's own pid namespace (the last of
// "NSpid:") and its capability sets (CapEff …, as they are now, which is as
// its exec left them unless it changed them since).
func readStatus(dir string, p *event.Process, caps *capability.Table) bool {
	raw, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return false
	}
	found := 0
	var sets [4]uint64
	haveSets := 0
	for _, line := range strings.Split(string(raw), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch i := capField(key); {
		case i >= 0:
			if v, err := strconv.ParseUint(strings.TrimSpace(val), 16, 64); err == nil {
				sets[i] = v
				haveSets++
			}
		case key == "NSpid":
			if f := strings.Fields(val); len(f) > 0 {
				v, _ := strconv.ParseUint(f[len(f)-1], 10, 32)
				p.VPID = uint32(v)
			}
		case key == "Uid" || key == "Gid":
			f := strings.Fields(val)
			if len(f) < 2 {
				continue
			}
			real, _ := strconv.ParseUint(f[0], 10, 32)
			eff, _ := strconv.ParseUint(f[1], 10, 32)
			if key == "Uid" {
				p.UID, p.EUID = uint32(real), uint32(eff)
			} else {
				p.GID, p.EGID = uint32(real), uint32(eff)
			}
			found++
		}
	}
	if haveSets == len(sets) {
		p.Caps = caps.Caps(capability.Sets{Effective: sets[0], Permitted: sets[1], Inheritable: sets[2], Bounding: sets[3]})
	}
	return found == 2
}

// capField is the index in [effective, permitted, inheritable, bounding]
// of a status line's capability set, -1 for other lines.
func capField(key string) int {
	switch key {
	case "CapEff":
		return 0
	case "CapPrm":
		return 1
	case "CapInh":
		return 2
	case "CapBnd":
		return 3
	}
	return -1
}

func executable(dir, exe string) *event.FileID {
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, "exe"), &st); err != nil {
		return nil
	}
	return &event.FileID{
		// the kernel's dev_t (major<<20 | minor), as the exec sensor reports it
		Dev:     unix.Major(st.Dev)<<20 | unix.Minor(st.Dev),
		Inode:   st.Ino,
		Mode:    st.Mode,
		Size:    st.Size,
		Mtime:   time.Unix(st.Mtim.Sec, st.Mtim.Nsec).UTC(),
		Deleted: strings.HasSuffix(exe, " (deleted)"),
	}
}

func readUint(path string) (uint64, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
}

// nsInode reads a namespace link such as "pid:[4026531836]".
func nsInode(dir, ns string) uint32 {
	link, err := os.Readlink(filepath.Join(dir, "ns", ns))
	if err != nil {
		return 0
	}
	i, j := strings.IndexByte(link, '['), strings.IndexByte(link, ']')
	if i < 0 || j < i {
		return 0
	}
	v, _ := strconv.ParseUint(link[i+1:j], 10, 32)
	return uint32(v)
}

// readCgroup picks the path the exec sensor would report: the v2 path, or
// the v1 controller's when the v2 path is the root.
func readCgroup(dir string, opts Options) event.Cgroup {
	raw, err := os.ReadFile(filepath.Join(dir, "cgroup"))
	if err != nil {
		return event.Cgroup{}
	}
	var v2, v1 string
	for _, line := range strings.Split(string(raw), "\n") {
		// hierarchy-id:controller-list:path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
		} else if opts.V1Controller != "" {
			for _, c := range strings.Split(parts[1], ",") {
				if c == opts.V1Controller {
					v1 = parts[2]
				}
			}
		}
	}
	cg := event.Cgroup{Path: v2}
	if opts.Cgroup2Root != "" && v2 != "" {
		var st unix.Stat_t
		if unix.Stat(filepath.Join(opts.Cgroup2Root, v2), &st) == nil {
			cg.ID = st.Ino
		}
	}
	if (v2 == "" || v2 == "/") && v1 != "" {
		cg.Path = v1
	}
	return cg
}

// ttyName names a tty_nr the way the exec sensor names ttys.
func ttyName(nr uint64) string {
	if nr == 0 {
		return ""
	}
	major, minor := unix.Major(nr), unix.Minor(nr)
	switch {
	case major >= 136 && major <= 143: // Unix98 pty slaves
		return "pts/" + strconv.FormatUint(uint64((major-136)*256+minor), 10)
	case major == 4 && minor < 64:
		return "tty" + strconv.FormatUint(uint64(minor), 10)
	case major == 4:
		return "ttyS" + strconv.FormatUint(uint64(minor-64), 10)
	case major == 5 && minor == 1:
		return "console"
	}
	return fmt.Sprintf("%d:%d", major, minor)
}
