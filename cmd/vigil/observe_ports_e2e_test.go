package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestRemotePortsFromTheConfigFile: observe.network.remote_ports in a
// config file reaches the kernel. Two loopback servers on ephemeral ports,
// one of them written into the config; the built agent runs with it, a
// client in a cgroup of the test's own connects to each and exchanges a
// byte, rounds times. The scrape then has the watched port's connect
// latency (and RTT) for the cgroup, one connect per round, and no series
// at all for the other port, although the cgroup's totals count the
// connects to both.
func TestRemotePortsFromTheConfigFile(t *testing.T) {
	testenv.RequirePrivileged(t)
	const rounds = 5
	bin := buildVigil(t)
	dir := t.TempDir()
	cg := testenv.NewCgroup(t)
	watched, other := echoServer(t), echoServer(t)
	conf := filepath.Join(dir, "vigil.yaml")
	writeFile(t, conf, fmt.Sprintf("observe:\n  observers: [network]\n  network:\n    remote_ports: [%d]\n", watched))

	var stderr syncBuffer
	agent := exec.Command(bin, runArgs(t, "--config", conf, "--socket", "", "--output", "/dev/null",
		"--metrics-addr", "127.0.0.1:0")...)
	agent.Stderr = &stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = agent.Process.Signal(syscall.SIGTERM) // our own agent, by pid
		if err := agent.Wait(); err != nil {
			t.Errorf("agent: %v\n%s", err, stderr.String())
		}
	}()
	waitFor(t, "agent start", func() bool { return strings.Contains(stderr.String(), "msg=started") })
	addr := regexp.MustCompile(`address=http://(\S+)/metrics`).FindStringSubmatch(stderr.String())
	if addr == nil {
		t.Fatalf("no metrics address in the log:\n%s", stderr.String())
	}

	script := fmt.Sprintf(`for i in $(seq %d); do for p in %d %d; do
		exec 3<>/dev/tcp/127.0.0.1/$p && echo -n x >&3 && read -r -n1 y <&3 && exec 3>&- || exit 1
	done; done`, rounds, watched, other)
	client := exec.Command("bash", "-c", script)
	client.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	if out, err := client.CombinedOutput(); err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}

	cgroup := `cgroup="/` + cg.Rel() + `"`
	port := func(p int) string { return `remote_port="` + strconv.Itoa(p) + `"` }
	var page string
	waitFor(t, "the cgroup's connects in the scrape", func() bool {
		page = scrapeText(t, "http://"+addr[1]+"/metrics")
		total := sampleSum(page, "vigil_tcp_connect_latency_seconds_count", cgroup)
		return total >= 2*rounds && sampleSum(page, "vigil_tcp_remote_port_connect_latency_seconds_count", cgroup, port(watched)) >= rounds
	})
	if n := sampleSum(page, "vigil_tcp_remote_port_connect_latency_seconds_count", cgroup, port(watched)); n != rounds {
		t.Errorf("port %d: %v connects in the scrape; the client made %d", watched, n, rounds)
	}
	if n := sampleSum(page, "vigil_tcp_remote_port_rtt_seconds_count", cgroup, port(watched)); n == 0 {
		t.Errorf("port %d: no RTT samples in the scrape", watched)
	}
	for _, line := range strings.Split(page, "\n") {
		if strings.HasPrefix(line, "vigil_tcp_remote_port_") && strings.Contains(line, port(other)) {
			t.Errorf("a series for port %d, which the config does not list: %s", other, line)
		}
	}
}

// echoServer listens on an ephemeral loopback port and echoes one byte
// per connection; it returns the port.
func echoServer(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			go func() {
				defer func() { _ = c.Close() }() // the client's close ends it
				b := make([]byte, 1)
				if _, err := io.ReadFull(c, b); err == nil {
					_, _ = c.Write(b)
				}
				_, _ = c.Read(b) // until the client closes
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// scrapeText fetches a Prometheus text page.
func scrapeText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return string(body)
}

// sampleSum adds the values of the samples of name whose labels include
// every one of labels (each `name="value"`).
func sampleSum(page, name string, labels ...string) float64 {
	sum := 0.0
next:
	for _, line := range strings.Split(page, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue next
			}
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}
