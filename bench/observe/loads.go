package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// load is one workload: run measures it once.
type load struct {
	name string
	// tool is its libbpf-tools equivalent
	tool string
	// what cost and cpu are, for the report
	costUnit, cpuUnit string
	// unit names one unit of work, for the per-call report (-percall)
	unit string
	// hooked says whether a BPF program of that name (as the kernel
	// keeps it: 15 characters) hooks this load's tracepoints
	hooked func(name string) bool
	run    func() (measurement, error)
}

// measurement is one run of a load, both lower-is-better: cost is the
// load's own figure (seconds of the whole run, ns per I/O or per
// request), cpu the CPU time it took, per the same unit of work; units
// is how many units of work the run did and cpuNs its whole CPU time.
type measurement struct{ cost, cpu, units, cpuNs float64 }

// hasPrefix is a load's hooked: the names that start with one of prefixes.
func hasPrefix(prefixes ...string) func(string) bool {
	return func(name string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
		return false
	}
}

var perfTotal = regexp.MustCompile(`Total time:\s*([0-9.]+)`)

// schedLoad is perf bench sched messaging: groups of 20 senders and 20
// receivers passing loops messages each over sockets.
func schedLoad(groups, loops int) load {
	return load{name: "sched", tool: "runqlat", costUnit: "s per run (perf's total time)", cpuUnit: "CPU s per run",
		unit: "run", hooked: hasPrefix("sched_"),
		run: func() (measurement, error) {
			cmd := exec.Command("perf", "bench", "sched", "messaging", "-g", strconv.Itoa(groups), "-l", strconv.Itoa(loops))
			out, err := cmd.Output()
			if err != nil {
				return measurement{}, fmt.Errorf("perf bench sched messaging: %w", err)
			}
			m := perfTotal.FindSubmatch(out)
			if m == nil {
				return measurement{}, fmt.Errorf("no total time in perf's output:\n%s", out)
			}
			total, _ := strconv.ParseFloat(string(m[1]), 64)
			ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
			return measurement{cost: total, cpu: cpu, units: 1, cpuNs: cpu * 1e9}, nil
		}}
}

// ioLoad is fio's random 4 KiB direct reads from a loop device over a
// 256 MiB file, for seconds each run. The loop device and the file are
// removed by cleanup.
func ioLoad(seconds int) (load, func(), error) {
	dir, err := os.MkdirTemp("/var/tmp", "vh15t-bench-observe-")
	if err != nil {
		return load{}, nil, err
	}
	file := filepath.Join(dir, "disk")
	f, err := os.Create(file)
	if err == nil {
		// written, not sparse: reads reach the backing file's blocks
		buf := make([]byte, 1<<20)
		for i := range buf {
			buf[i] = byte(i)
		}
		for i := 0; i < 256 && err == nil; i++ {
			_, err = f.Write(buf)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return load{}, nil, err
	}
	out, err := exec.Command("losetup", "--find", "--show", "--direct-io=on", file).Output()
	if err != nil {
		os.RemoveAll(dir)
		return load{}, nil, fmt.Errorf("losetup: %w", err)
	}
	dev := strings.TrimSpace(string(out))
	cleanup := func() {
		if err := exec.Command("losetup", "-d", dev).Run(); err != nil {
			fmt.Fprintf(os.Stderr, "losetup -d %s: %v\n", dev, err)
		}
		os.RemoveAll(dir)
	}
	fmt.Fprintf(os.Stderr, "io: loop device %s over %s\n", dev, file)
	return load{name: "io", tool: "biolatency", costUnit: "µs per I/O (1/IOPS)", cpuUnit: "fio CPU µs per I/O",
		unit: "I/O", hooked: hasPrefix("block_", "sched_"), // fio sleeps on each I/O: a context switch or two
		run: func() (measurement, error) { return fio(dev, seconds) }}, cleanup, nil
}

func fio(dev string, seconds int) (measurement, error) {
	out, err := exec.Command("fio", "--name=vh15t", "--filename="+dev, "--rw=randread", "--bs=4k", "--direct=1",
		"--ioengine=psync", "--iodepth=1", "--numjobs=1", "--time_based", fmt.Sprintf("--runtime=%d", seconds),
		"--output-format=json").Output()
	if err != nil {
		return measurement{}, fmt.Errorf("fio: %w\n%s", err, out)
	}
	var res struct {
		Jobs []struct {
			Runtime float64 `json:"job_runtime"` // ms
			Usr     float64 `json:"usr_cpu"`     // %
			Sys     float64 `json:"sys_cpu"`
			Read    struct {
				IOPS float64 `json:"iops"`
				IOs  float64 `json:"total_ios"`
			} `json:"read"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Jobs) != 1 || res.Jobs[0].Read.IOs == 0 {
		return measurement{}, fmt.Errorf("fio's JSON: %v\n%s", err, out)
	}
	j := res.Jobs[0]
	cpu := (j.Usr + j.Sys) / 100 * j.Runtime * 1e3 / j.Read.IOs // µs per I/O
	return measurement{cost: 1e6 / j.Read.IOPS, cpu: cpu, units: j.Read.IOs, cpuNs: cpu * 1e3 * j.Read.IOs}, nil
}

// tcpLoad is a request/response loop over loopback TCP: a client writes
// 64 bytes, an echo server in this process writes them back, requests
// times; a new connection each run (connect latency, too).
func tcpLoad(requests int) (load, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return load{}, nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c) //nolint:errcheck // ends with the client's close
			}()
		}
	}()
	addr := ln.Addr().String()
	return load{name: "tcp", tool: "tcprtt", costUnit: "µs per request (wall)", cpuUnit: "CPU µs per request (client + server)",
		unit: "request", hooked: hasPrefix("tcp_", "inet_sock_set_s"),
		run: func() (measurement, error) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return measurement{}, err
			}
			defer c.Close()
			msg, back := make([]byte, 64), make([]byte, 64)
			cpu0, t0 := selfCPU(), time.Now()
			for i := 0; i < requests; i++ {
				if _, err := c.Write(msg); err != nil {
					return measurement{}, err
				}
				if _, err := io.ReadFull(c, back); err != nil {
					return measurement{}, err
				}
			}
			wall, cpu := time.Since(t0), selfCPU()-cpu0
			n := float64(requests)
			return measurement{cost: float64(wall.Microseconds()) / n, cpu: float64(cpu.Microseconds()) / n,
				units: n, cpuNs: float64(cpu.Nanoseconds())}, nil
		}}, func() { ln.Close() }, nil
}

// selfCPU is this process's CPU time, user and system.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fail("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
