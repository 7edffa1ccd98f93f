package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/file"
)

// vigil is the file sensor, loaded with the default watch set plus the
// benchmark's watched directory, and a reader that decodes every record.
// The default watch set also reports other processes (a write under /etc,
// a memfd_create): only the opens of the benchmark's watched file count
// as its own.
type vigil struct {
	ring    *ring.Ring
	sensor  *file.Sensor
	stats   io.Closer // kernel BPF statistics, when asked for
	done    chan error
	own     string        // the watched file the loops open
	records atomic.Uint64 // file_open records of own
	others  atomic.Uint64 // every other record
	errors  atomic.Uint64
}

func startVigil(watched, own string, bpfStats bool) (*vigil, error) {
	rc := ring.DefaultConfig()
	rc.Scope.AgentPID = uint32(os.Getpid())
	r, err := ring.New(rc)
	if err != nil {
		return nil, err
	}
	cfg := file.DefaultConfig()
	cfg.Watch = append(cfg.Watch, watched)
	s, err := file.Load(r, cfg)
	if err != nil {
		r.Close()
		return nil, err
	}
	v := &vigil{ring: r, sensor: s, done: make(chan error, 1), own: own}
	if bpfStats {
		if v.stats, err = ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME)); err != nil {
			s.Close()
			r.Close()
			return nil, fmt.Errorf("enable BPF statistics: %w", err)
		}
	}
	dec := file.Decoder{Clock: kernel.NewBootClock().Time}
	go func() {
		v.done <- r.Read(func(raw []byte) {
			ev, err := dec.Decode(raw)
			switch {
			case err != nil:
				v.errors.Add(1)
			case ev.Kind == event.KindFileOpen && ev.File.Path == v.own:
				v.records.Add(1)
			default:
				v.others.Add(1)
			}
		}, func() {})
	}()
	return v, nil
}

// progStats is a program's run count and total run time so far.
type progStats struct{ runs, ns uint64 }

// openatStats reads the openat program's statistics; zero without
// -bpf-stats. Every process's opens count, the benchmark's are most.
func (v *vigil) openatStats() progStats {
	if v.stats == nil {
		return progStats{}
	}
	st, err := v.sensor.Programs()["exit_openat"].Stats()
	if err != nil {
		return progStats{}
	}
	return progStats{st.RunCount, uint64(st.Runtime)}
}

// stop detaches, drains and reports how many file_open records the ring
// had no room for. Those cannot be told apart by process: they are the
// benchmark's own or others', an upper bound of its own losses.
func (v *vigil) stop() (lost uint64, err error) {
	if v.stats != nil {
		v.stats.Close()
	}
	errs := []error{v.sensor.Close(), v.ring.Stop(), <-v.done}
	losses, err := v.ring.Losses()
	errs = append(errs, err, v.ring.Close())
	lost = ring.Lost(losses, ring.RingbufFull, event.KindFileOpen)
	if n := v.errors.Load(); n > 0 {
		errs = append(errs, fmt.Errorf("%d records did not decode", n))
	}
	return lost, errors.Join(errs...)
}

// auditd is the audit daemon with one watch rule, started for a block of
// runs and stopped after: audit stays off the rest of the time, for the
// other modes and for everyone else on the machine.
type auditd struct {
	cmd     *exec.Cmd
	watched string
}

const auditKey = "vigil-bench"

func startAuditd(watched string) (*auditd, error) {
	for _, tool := range []string{"auditd", "auditctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s is not installed (apt-get install auditd): %w", tool, err)
		}
	}
	cmd := exec.Command("auditd", "-n") // in the foreground: its pid is ours to end
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start auditd: %w", err)
	}
	a := &auditd{cmd: cmd, watched: watched}
	if err := a.waitRunning(); err != nil {
		a.stop()
		return nil, err
	}
	// the same watch as vigil's: reads of files below watched
	if err := auditctl("-w", watched, "-p", "r", "-k", auditKey); err != nil {
		a.stop()
		return nil, err
	}
	return a, nil
}

// waitRunning waits until the kernel talks to this auditd.
func (a *auditd) waitRunning() error {
	want := fmt.Sprintf("pid %d", a.cmd.Process.Pid)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err := exec.Command("auditctl", "-s").Output()
		if err == nil && strings.Contains(string(out), want) && strings.Contains(string(out), "enabled 1") {
			return nil
		}
	}
	return errors.New("auditd did not register with the kernel within 10s")
}

func (a *auditd) stop() error {
	errs := []error{
		auditctl("-W", a.watched, "-p", "r", "-k", auditKey),
		auditctl("-e", "0"),
	}
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err == nil {
		a.cmd.Wait()
	}
	return errors.Join(errs...)
}

func auditctl(args ...string) error {
	out, err := exec.Command("auditctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("auditctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}
