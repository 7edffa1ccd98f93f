package agent

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/vigil-sec/vigil/internal/metrics/metricstest"
	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestPerformanceScrape runs a real agent with every observer, causes
// what each measures (TCP on loopback, direct reads from a loop device, a process OOM-killed in the test's cgroup, CPU anywhere), and
// checks that every metric the performance dashboard and the alert rules
// query is in the agent's scrape.
func TestPerformanceScrape(t *testing.T) {
	testenv.RequirePrivileged(t)
	cg := testenv.NewCgroup(t)
	s := serve(t, cg, "[]", func(c *Config) { c.Observe = observe.Config{Observers: observe.AllNames()} })

	tcpExchange(t)
	blockReads(t)
	oomKill(t, cg)

	var used []string
	for _, d := range metricstest.Dashboards() {
		if d.Observers {
			raw, err := os.ReadFile("../../" + d.File)
			if err != nil {
				t.Fatal(err)
			}
			qs, err := d.Queries(raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range qs {
				used = append(used, q.Metrics()...)
			}
		}
	}
	var fams map[string]*dto.MetricFamily
	deadline := time.Now().Add(waitLimit) // a bound on a hung agent only
	for {
		fams = s.scrape(t)
		var missing []string
		for _, name := range used {
			if !scraped(fams, name) {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not in the scrape within %v: %s", waitLimit, strings.Join(missing, ", "))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, d := range metricstest.Dashboards() {
		if d.Observers {
			checkDashboard(t, fams, d)
		}
	}
}

// tcpExchange connects to a listener on loopback, exchanges a message
// each way and resets the connection.
func tcpExchange(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		// a loop, not io.Copy: a TCP-to-TCP copy splices through a pipe
		// that Go keeps for later, which the fd-leak check would count
		buf := make([]byte, 64)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return // the client's reset
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, make([]byte, 4)); err != nil {
			t.Fatal(err)
		}
	}
	c.(*net.TCPConn).SetLinger(0) //nolint:errcheck // close sends a reset
	c.Close()
}

// blockReads reads 256 KiB with O_DIRECT, which the page cache cannot
// answer, from a loop device over a file of the test's.
func blockReads(t *testing.T) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(file, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", file).Output()
	if err != nil {
		testenv.Unavailable(t, "no loop device: "+err.Error())
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if err := exec.Command("losetup", "-d", dev).Run(); err != nil {
			t.Errorf("losetup -d %s: %v", dev, err)
		}
	})
	if out, err := exec.Command("dd", "if="+dev, "of=/dev/null", "bs=4096", "count=64", "iflag=direct").CombinedOutput(); err != nil {
		t.Fatalf("dd from %s: %v\n%s", dev, err, out)
	}
}

// oomKill runs a process that outgrows a 32 MiB limit on the test's
// cgroup (memory.max in v2, else a v1 memory cgroup at the same path).
func oomKill(t *testing.T, cg testenv.Cgroup) {
	t.Helper()
	limit, prefix := filepath.Join(cg.Path, "memory.max"), ""
	if _, err := os.Stat(limit); err != nil {
		v1 := filepath.Join("/sys/fs/cgroup/memory", cg.Rel())
		if err := os.Mkdir(v1, 0o755); err != nil {
			testenv.Unavailable(t, "no memory controller: "+err.Error())
		}
		t.Cleanup(func() {
			for end := time.Now().Add(5 * time.Second); os.Remove(v1) != nil && time.Now().Before(end); {
				time.Sleep(20 * time.Millisecond)
			}
		})
		limit, prefix = filepath.Join(v1, "memory.limit_in_bytes"), "echo $$ > "+filepath.Join(v1, "cgroup.procs")+" && "
	}
	if err := os.WriteFile(limit, []byte("33554432"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", prefix+`exec perl -e '$x = "a" x (256<<20)'`)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	var ee *exec.ExitError
	if err := cmd.Run(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("a process outgrowing 32 MiB ended with %v; want the OOM killer's SIGKILL", err)
	}
}
