package main

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

// Warm-up of the measured agent. Right after it logs that it started, the
// agent still has work of its own to finish that is no part of what an exec
// costs it: the package index of the binary-facts checker (every .list of
// dpkg's database read, about a second of CPU on a Debian host), started by
// the process snapshot, and the first execs' cache misses (each binary's
// directories judged once, the rules' first evaluations). The measurements
// start once that is over: after warmExecs execs, when the agent's CPU over
// settleWindow stayed under settleShare of a core settleRounds times in a
// row. It waits on the agent's CPU clock, not for a fixed time.
const (
	warmExecs    = 200
	settleWindow = 250 * time.Millisecond
	settleShare  = 0.10
	settleRounds = 2
	settleLimit  = 60 * time.Second
)

// warm runs the warm-up execs and waits until the agent settles; it returns
// the execs it ran (their records count in the agent's summary) and how
// long the agent took to settle.
func (a *agentProc) warm(env []string) (execs int, took time.Duration, err error) {
	attr := &syscall.ProcAttr{Env: env}
	start := time.Now()
	for i := 0; i < warmExecs; i++ {
		startTrue(attr)
	}
	quiet := 0
	for quiet < settleRounds {
		if time.Since(start) > settleLimit {
			return warmExecs, time.Since(start), fmt.Errorf("agent still busy %v after it started "+
				"(over %.0f %% of a core in every %v)", settleLimit, 100*settleShare, settleWindow)
		}
		cpu, wall := a.measure(func() { time.Sleep(settleWindow) })
		if float64(cpu)/float64(wall) < settleShare {
			quiet++
		} else {
			quiet = 0
		}
	}
	return warmExecs, time.Since(start), nil
}

// loadAverage is the machine's 1-minute load average (-1 when unreadable).
func loadAverage() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	if _, err := fmt.Sscan(string(raw), &l); err != nil {
		return -1
	}
	return l
}
