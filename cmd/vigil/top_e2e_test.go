package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// scrapeServer serves the recorded scrapes of internal/top: the first
// request gets the first, every later one the second, as an agent's
// counters grow between two scrapes.
func scrapeServer(t *testing.T) string {
	t.Helper()
	var pages [2][]byte
	for i, name := range []string{"../../internal/top/testdata/scrape-0.prom", "../../internal/top/testdata/scrape-1.prom"} {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		pages[i] = raw
	}
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Write(pages[min(served.Add(1)-1, 1)]) //nolint:errcheck // the client's failure is the test's
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

// TestTopOnceReadsTheScrape runs the built binary against a real HTTP
// server serving two recorded scrapes (the observers' metrics as the
// agent names them): --once --format json gives one frame whose rows are
// the containers sorted as asked, names kept as they are; the text view,
// written to a pipe, is plain lines with the names escaped. Without an
// agent, or with a bad --sort, it says what is wrong.
func TestTopOnceReadsTheScrape(t *testing.T) {
	bin := buildVigil(t)
	url := scrapeServer(t)
	out, err := exec.Command(bin, "top", "--once", "--format", "json", "--interval", "100ms", "--sort", "io",
		"--metrics-url", url).Output()
	if err != nil {
		t.Fatalf("vigil top --once --format json: %v\n%s", err, out)
	}
	var frame struct {
		Sort       string           `json:"sort"`
		Containers []map[string]any `json:"containers"`
	}
	if err := json.Unmarshal(out, &frame); err != nil {
		t.Fatalf("not one JSON frame: %v\n%s", err, out)
	}
	if frame.Sort != "io" || len(frame.Containers) != 4 {
		t.Fatalf("frame %s", out)
	}
	// db read 50 MiB between the scrapes, web 5 MiB: db first, whatever
	// the interval the machine took
	if frame.Containers[0]["container"] != "db" || frame.Containers[1]["container"] != "web" ||
		frame.Containers[1]["pod"] != "web-1" || frame.Containers[1]["namespace"] != "shop" {
		t.Errorf("sorted by io: %s", out)
	}
	if v, _ := frame.Containers[1]["cpu_cores"].(float64); v <= 0 {
		t.Errorf("web's CPU %v, want above 0: %s", frame.Containers[1]["cpu_cores"], out)
	}
	if p99, _ := frame.Containers[0]["runq_p99_seconds"].(float64); p99 < 0.002 || p99 > 0.004 {
		t.Errorf("db's run-queue p99 %v, want in its bucket (2ms, 4ms]", p99)
	}

	// a new server: the scrapes start again from the first
	text, err := exec.Command(bin, "top", "--once", "--interval", "100ms", "--metrics-url", scrapeServer(t)).Output()
	if err != nil {
		t.Fatalf("vigil top --once: %v\n%s", err, text)
	}
	if strings.ContainsAny(string(text), "\x1b\a") {
		t.Errorf("control characters from the scrape reach the terminal: %q", text)
	}
	for _, want := range []string{`\x1b]0;evil\a`, "shop/web-1/web", "CPU▼", "RUNQ p99", "3 (+2)"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the text view lacks %q:\n%s", want, text)
		}
	}

	// no agent: a clear error and exit status, naming the address
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	out, err = exec.Command(bin, "top", "--once", "--metrics-url", "http://"+addr+"/metrics").CombinedOutput()
	if err == nil || !strings.Contains(string(out), addr) {
		t.Errorf("top against nothing: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "top", "--sort", "mem").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "cpu, runq, io, rtt") {
		t.Errorf("--sort mem: %v\n%s", err, out)
	}
}

// TestTopWithTheAgent runs the built agent with its observers and its
// metrics on, keeps a shell loop busy on a CPU in a cgroup of the test's
// own, and runs `vigil top --once --format json` against the agent until
// the cgroup's row shows on-CPU time and run-queue samples; the text view
// names the cgroup too.
func TestTopWithTheAgent(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	cg := testenv.NewCgroup(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var stderr syncBuffer
	agent := exec.Command(bin, runArgs(t, "--observe", "cpu,memory,network,io", "--metrics-addr", addr,
		"--socket", "", "--output", "/dev/null")...)
	agent.Stderr = &stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		agent.Process.Signal(syscall.SIGTERM) //nolint:errcheck // Wait says how it ended
		if err := agent.Wait(); err != nil {
			t.Errorf("agent: %v\n%s", err, stderr.String())
		}
	}()
	waitFor(t, "agent start", func() bool { return strings.Contains(stderr.String(), "msg=started") })

	busy := exec.Command("/bin/sh", "-c", "while :; do :; done")
	busy.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	if err := busy.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		busy.Process.Kill() //nolint:errcheck // it is ours, and Wait reaps it
		busy.Wait()         //nolint:errcheck // killed
	}()

	url := "http://" + addr + "/metrics"
	want := "/" + cg.Rel()
	var row map[string]any
	waitFor(t, "the busy cgroup's row in vigil top", func() bool {
		out, err := exec.Command(bin, "top", "--once", "--format", "json", "--interval", "1s", "--metrics-url", url).Output()
		if err != nil {
			t.Fatalf("vigil top: %v\n%s", err, out)
		}
		var frame struct {
			Containers []map[string]any `json:"containers"`
		}
		if err := json.Unmarshal(out, &frame); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, c := range frame.Containers {
			if c["cgroup"] == want {
				cpu, _ := c["cpu_cores"].(float64)
				p50, _ := c["runq_p50_seconds"].(float64)
				if cpu > 0 && p50 > 0 {
					row = c
					return true
				}
			}
		}
		return false
	})
	// a shell loop on one of two cores: on-CPU most of the interval,
	// never more than the one thread can run
	if cpu := row["cpu_cores"].(float64); cpu > 1.05 {
		t.Errorf("one busy thread counted %.2f cores: %v", cpu, row)
	}
	text, err := exec.Command(bin, "top", "--once", "--interval", "1s", "--metrics-url", url).Output()
	if err != nil || !strings.Contains(string(text), want) {
		t.Errorf("vigil top: %v; want %s in\n%s", err, want, text)
	}
}
