package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// usage is what the kernel counts for the agent's process: where its CPU
// time went (user or system), how often its threads were switched out and
// in, its page faults and its read and write calls. Read before and after
// the paced run, the difference per exec says what an exec costs the
// agent besides its own code: system calls, wake-ups, faults.
type usage struct {
	utime, stime     float64 // clock ticks (CLK_TCK, 100 a second), every thread's, exited ones too
	minflt, majflt   float64
	voluntary, invol float64 // context switches, summed over the live threads
	schedIns         float64 // times a thread was put on a CPU (schedstat), live threads
	syscr, syscw     float64 // read and write system calls (/proc/PID/io)
	threads          float64
}

// clockTick is USER_HZ: what /proc/PID/stat counts utime and stime in.
const clockTick = 100

// readUsage reads pid's usage; a field it cannot read stays zero.
func readUsage(pid int) usage {
	var u usage
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	if raw, err := os.ReadFile(filepath.Join(dir, "stat")); err == nil {
		// the fields after the comm, which may hold spaces, start at state (3)
		s := string(raw)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			f := strings.Fields(s[i+1:])
			get := func(n int) float64 { // n: the field's number in proc(5)
				if n-3 < len(f) {
					v, _ := strconv.ParseFloat(f[n-3], 64)
					return v
				}
				return 0
			}
			u.minflt, u.majflt = get(10), get(12)
			u.utime, u.stime = get(14), get(15)
			u.threads = get(20)
		}
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "io")); err == nil {
		u.syscr, u.syscw = keyed(string(raw), "syscr:"), keyed(string(raw), "syscw:")
	}
	tasks, _ := os.ReadDir(filepath.Join(dir, "task"))
	for _, t := range tasks {
		td := filepath.Join(dir, "task", t.Name())
		if raw, err := os.ReadFile(filepath.Join(td, "status")); err == nil {
			u.voluntary += keyed(string(raw), "voluntary_ctxt_switches:")
			u.invol += keyed(string(raw), "nonvoluntary_ctxt_switches:")
		}
		if raw, err := os.ReadFile(filepath.Join(td, "schedstat")); err == nil {
			if f := strings.Fields(string(raw)); len(f) == 3 {
				v, _ := strconv.ParseFloat(f[2], 64)
				u.schedIns += v
			}
		}
	}
	return u
}

// keyed is the number after key at the start of a line of s.
func keyed(s, key string) float64 {
	for _, line := range strings.Split(s, "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return 0
}

// perExec is (after − before) ÷ n, field by field; threads is after's.
func (u usage) perExec(before usage, n int) usage {
	d := float64(n)
	return usage{
		utime: (u.utime - before.utime) / d, stime: (u.stime - before.stime) / d,
		minflt: (u.minflt - before.minflt) / d, majflt: (u.majflt - before.majflt) / d,
		voluntary: (u.voluntary - before.voluntary) / d, invol: (u.invol - before.invol) / d,
		schedIns: (u.schedIns - before.schedIns) / d,
		syscr:    (u.syscr - before.syscr) / d, syscw: (u.syscw - before.syscw) / d,
		threads: u.threads,
	}
}
