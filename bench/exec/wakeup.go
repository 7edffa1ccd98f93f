package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// wakeupResult is what one agent costs asleep and how late it is awake:
// its CPU over an idle stretch, and the delay from each open of a watched
// file (the kernel's time stamp on the event) to its JSON line reaching
// this process, under a paced load. Opens, not execs: a thousand execs a
// second would measure the machine, not the agent.
type wakeupResult struct {
	idle       time.Duration // length of the idle stretch
	idleCPU    time.Duration // agent CPU during it
	rate       float64       // opens/s achieved by the paced load
	loadShare  float64       // agent CPU share of one core during the load
	latencies  []time.Duration
	unmatched  int // events of the load whose time did not parse
	agentCount string
}

// measureWakeup runs one agent with its events on a pipe: idle for idle,
// then rate opens/s of path (a file the default configuration watches)
// for load.
func measureWakeup(bin string, cg *benchCgroup, extra []string, idle time.Duration, rate int, load time.Duration, path string) (wakeupResult, error) {
	var res wakeupResult
	lines := &lineClock{}
	a, err := startAgent(bin, agentArgs(cg, "-", extra), lines)
	if err != nil {
		return res, err
	}
	time.Sleep(2 * time.Second) // the start's own work (process snapshot, first flushes) settles
	res.idle = idle
	res.idleCPU, _ = a.measure(func() { time.Sleep(idle) })
	lines.start()
	var opened int
	var openErr error
	cpu, wall := a.measure(func() { opened, openErr = pacedOpens(path, rate, load) })
	if openErr != nil {
		_, _ = a.stop() // best effort: openErr is what failed
		return res, openErr
	}
	res.rate = float64(opened) / wall.Seconds()
	res.loadShare = float64(cpu) / float64(wall)
	time.Sleep(time.Second) // the last events' flush
	if res.agentCount, err = a.stop(); err != nil {
		return res, err
	}
	res.latencies, res.unmatched = lines.latencies(path)
	return res, nil
}

// pacedOpens opens and closes path rate times a second for d, on one
// thread, and returns how many opens it made.
func pacedOpens(path string, rate int, d time.Duration) (int, error) {
	total := int(float64(rate) * d.Seconds())
	period := time.Second / time.Duration(rate)
	start := time.Now()
	for i := range total {
		if wait := time.Until(start.Add(time.Duration(i) * period)); wait > 0 {
			time.Sleep(wait)
		}
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return i, fmt.Errorf("open %s: %w", path, err)
		}
		unix.Close(fd)
	}
	return total, nil
}

// lineClock is the agent's stdout: it notes when each line arrived.
type lineClock struct {
	mu      sync.Mutex
	on      bool
	partial []byte
	lines   []timedLine
}

type timedLine struct {
	at   time.Time
	line []byte
}

func (l *lineClock) start() { l.mu.Lock(); l.on = true; l.mu.Unlock() }

func (l *lineClock) Write(p []byte) (int, error) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.on {
		return len(p), nil
	}
	l.partial = append(l.partial, p...)
	buf := l.partial
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, timedLine{at: now, line: slices.Clone(buf[:i])})
		buf = buf[i+1:]
	}
	l.partial = slices.Clone(buf)
	return len(p), nil
}

// latencies is, for every file_open line of path, arrival minus the
// event's time.
func (l *lineClock) latencies(path string) (out []time.Duration, unmatched int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, tl := range l.lines {
		var ev struct {
			Time time.Time `json:"time"`
			Kind string    `json:"kind"`
			File struct {
				Path string `json:"path"`
			} `json:"file"`
		}
		if json.Unmarshal(tl.line, &ev) != nil || ev.Kind != "file_open" || ev.File.Path != path {
			continue
		}
		if ev.Time.IsZero() {
			unmatched++
			continue
		}
		out = append(out, tl.at.Sub(ev.Time))
	}
	return out, unmatched
}

func (w wakeupResult) print() {
	fmt.Printf("\nwake-ups: one agent, events as JSON on a pipe (records/dropped %s)\n", w.agentCount)
	fmt.Printf("  idle %v: agent CPU %v = %.2f millicores\n", w.idle, w.idleCPU.Round(time.Millisecond),
		1000*float64(w.idleCPU)/float64(w.idle))
	l := slices.Clone(w.latencies)
	slices.Sort(l)
	q := func(p float64) time.Duration {
		if len(l) == 0 {
			return 0
		}
		return l[min(len(l)-1, int(p*float64(len(l))))].Round(10 * time.Microsecond)
	}
	fmt.Printf("  paced %.0f opens/s of a watched file: agent %.2f%% of a core; open to its JSON line (n=%d, %d without time): "+
		"p50 %v, p99 %v, max %v\n", w.rate, 100*w.loadShare, len(l), w.unmatched, q(0.5), q(0.99), q(1))
}
