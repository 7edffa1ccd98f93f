package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestDropsRecordInTheOutputFile: the built agent, on a one-page ring and
// watching a directory, is stopped (SIGSTOP) while a shell in a cgroup of
// its own opens a file there thousands of times: the ring overflows by
// construction. Once the agent runs again, its JSON file holds drops
// records whose kernel counts add up to what its exit summary says the
// kernel dropped, and its log warns.
func TestDropsRecordInTheOutputFile(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	cg := testenv.NewCgroup(t)
	dir, err := os.MkdirTemp("", "vi18d-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	target := filepath.Join(dir, "watched")
	if err := os.WriteFile(target, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "events.json")
	var stderr syncBuffer
	agent := exec.Command(bin, runArgs(t, "--format", "json", "--events", "all", "--output", out, "--socket", "",
		"--ring-buffer", strconv.Itoa(os.Getpagesize()), "--cgroup", cg.Rel(), "--watch-path", dir,
		"--drops-interval", "1s", "--enforce=false")...)
	agent.Stderr = &stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer agent.Process.Kill() // only if the test fails before SIGTERM
	waitFor(t, "agent start", func() bool { return strings.Contains(stderr.String(), "msg=started") })

	// the agent reads nothing while stopped: 5000 opens cannot fit in a page
	if err := agent.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	opens := exec.Command("/bin/sh", "-c", `i=0; while [ $i -lt 5000 ]; do : < "$1"; i=$((i+1)); done`, "sh", target)
	opens.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	runErr := opens.Run()
	if err := agent.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if runErr != nil {
		t.Fatalf("opens: %v", runErr)
	}
	waitFor(t, "a drops record in the file", func() bool {
		raw, _ := os.ReadFile(out)
		return strings.Contains(string(raw), `"kind":"drops"`)
	})
	if err := agent.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := agent.Wait(); err != nil {
		t.Fatalf("agent exited with %v after SIGTERM; stderr:\n%s", err, stderr.String())
	}

	// what the records say the kernel lost, by "kind reason"
	reported := map[string]uint64{}
	var truncated uint64
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	records := 0
	for sc.Scan() {
		if !strings.Contains(sc.Text(), `"kind":"drops"`) {
			continue
		}
		var d event.Drops
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("drops record %s: %v", sc.Text(), err)
		}
		records++
		for _, c := range d.Counts {
			switch {
			case c.Stage != event.DropStageKernel:
			case c.Reason == "truncated":
				truncated += c.Count
			default:
				reported[string(c.Kind)+" "+c.Reason] += c.Count
			}
		}
	}
	// what the exit summary says: "dropped N in the kernel (KIND REASON N, …), M malformed; T truncated"
	m := regexp.MustCompile(`; dropped (\d+) in the kernel(?: \(([^)]*)\))?, \d+ malformed; (\d+) truncated`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no exit summary on stderr:\n%s", stderr.String())
	}
	summary := map[string]uint64{}
	if m[2] != "" {
		for _, part := range strings.Split(m[2], ", ") {
			i := strings.LastIndexByte(part, ' ')
			n, _ := strconv.ParseUint(part[i+1:], 10, 64)
			summary[part[:i]] = n
		}
	}
	if summary["file_open ringbuf_full"] == 0 {
		t.Fatalf("the kernel dropped no file_open (summary %q): the drop path went untested", m[0])
	}
	for k, n := range summary {
		if reported[k] != n {
			t.Errorf("%s: drops records say %d, the exit summary %d", k, reported[k], n)
		}
	}
	for k, n := range reported {
		if _, ok := summary[k]; !ok {
			t.Errorf("%s: drops records say %d, the exit summary nothing", k, n)
		}
	}
	if tr, _ := strconv.ParseUint(m[3], 10, 64); tr != truncated {
		t.Errorf("truncated: drops records say %d, the exit summary %d", truncated, tr)
	}
	if !strings.Contains(stderr.String(), `level=WARN msg="events lost"`) {
		t.Errorf("no warning in the log:\n%s", stderr.String())
	}
	t.Logf("%d drops records; kernel %v", records, summary)
}
