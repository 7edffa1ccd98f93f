package agent

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/file"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// opensHelperEnv makes the test binary open a file many times: "N PATH".
// The agent exempts the test's own process, so the opens happen in this
// child.
const opensHelperEnv = "VIGIL_TEST_OPENS"

func init() {
	// Not a registry: when re-executed as a helper, the test binary does
	// the helper's job and exits before any test runs.
	if spec := os.Getenv(opensHelperEnv); spec != "" {
		n, path, _ := strings.Cut(spec, " ")
		count, err := strconv.Atoi(n)
		if err == nil {
			err = openMany(path, count)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "opens helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

func openMany(path string, n int) error {
	for range n {
		fd, err := syscall.Open(path, syscall.O_RDONLY, 0)
		if err != nil {
			return err
		}
		syscall.Close(fd)
	}
	return nil
}

// TestDropsRecordsMatchKernelCounters: a process in a cgroup of its own
// opens a watched file 20 000 times while the agent, on a one-page ring,
// does not read: the ring overflows by construction. The outputs then get
// drops records whose kernel counts add up, reason by reason and kind by
// kind, to the kernel counters exactly, and the log warns.
func TestDropsRecordsMatchKernelCounters(t *testing.T) {
	testenv.RequirePrivileged(t)
	cg := testenv.NewCgroup(t)
	dir, err := os.MkdirTemp("", "vi18d-drops-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	dir = realPath(t, dir)
	target := filepath.Join(dir, "watched")
	if err := os.WriteFile(target, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &startLog{}
	rc := ring.DefaultConfig()
	rc.Size = os.Getpagesize()
	r := load(t, Config{Ring: rc, Cgroup: cg.Rel(), File: file.Config{Watch: []string{dir}},
		DropsInterval: 100 * time.Millisecond, Log: slog.New(logs)})

	const n = 20000
	helper := exec.Command(mustExecutable(t), "-test.run=^$")
	helper.Env = append(os.Environ(), opensHelperEnv+"="+strconv.Itoa(n)+" "+target)
	helper.Stderr = os.Stderr
	helper.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	if err := helper.Run(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	r.run()
	// a record comes while the agent runs, not only at its end
	deadline := time.Now().Add(waitLimit)
	for {
		r.sink.mu.Lock()
		got := len(r.sink.drops)
		r.sink.mu.Unlock()
		if got > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no drops record within %v", waitLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.stop(t) // drains the ring, and makes the last report

	losses, err := r.Losses()
	if err != nil {
		t.Fatal(err)
	}
	type lk struct {
		reason string
		kind   event.Kind
	}
	counters := map[lk]uint64{}
	for _, l := range losses {
		counters[lk{string(l.Reason), l.Kind}] += l.Count
	}
	reported := map[lk]uint64{}
	var last time.Time
	for i, d := range r.sink.drops {
		if d.Kind != event.KindDrops || d.Total == 0 || !d.Until.After(d.Since) {
			t.Errorf("record %d: %+v", i, d)
		}
		if i > 0 && !d.Since.Equal(last) {
			t.Errorf("record %d starts at %v, the one before ended at %v", i, d.Since, last)
		}
		last = d.Until
		var total uint64
		for _, c := range d.Counts {
			total += c.Count
			if c.Stage == event.DropStageKernel {
				reported[lk{c.Reason, c.Kind}] += c.Count
			}
		}
		if total != d.Total {
			t.Errorf("record %d: total %d, counts add up to %d", i, d.Total, total)
		}
	}
	if len(counters) != len(reported) {
		t.Errorf("kernel counters %v, drops records %v", counters, reported)
	}
	for k, want := range counters {
		if reported[k] != want {
			t.Errorf("%s %s: drops records say %d, the kernel counted %d", k.kind, k.reason, reported[k], want)
		}
	}
	full := counters[lk{string(ring.RingbufFull), event.KindFileOpen}]
	if full == 0 {
		t.Fatalf("%d opens into an unread one-page ring dropped no file_open: the drop path went untested (%v)", n, counters)
	}
	sum, err := r.Summary()
	if err != nil {
		t.Fatal(err)
	}
	if got := sum.Records[event.KindFileOpen] + full; got != n {
		t.Errorf("file_open: %d delivered + %d dropped = %d, want %d", sum.Records[event.KindFileOpen], full, got, n)
	}
	logs.mu.Lock()
	warned := slices.ContainsFunc(logs.lines, func(l string) bool {
		return strings.HasPrefix(l, "events lost ") && strings.Contains(l, "kernel ringbuf_full file_open")
	})
	logs.mu.Unlock()
	if !warned {
		t.Errorf("no warning of the ring's drops in the log: %q", logs.lines)
	}
	t.Logf("%d records; kernel %v", len(r.sink.drops), counters)
}
