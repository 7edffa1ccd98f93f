package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// intelArgs adds mode C: the agent of mode B with these flags too (a
// large intel list, say), measured only once its indicators are loaded
// and in force in the kernel, so that the load does not count as exec
// overhead. C's ratio to A beside B's is what the indicators cost an exec.
var intelArgs = flag.String("intel-args", "", "one more mode, C: vigil run with these flags too (e.g. --intel list=FILE --intel-mode enforce), "+
	"measured once the sha256 indicators are loaded and written into the kernel")

// intelModes is mode C when -intel-args is given.
func intelModes(bin string, cg *benchCgroup, extra []string) []mode {
	if *intelArgs == "" {
		return nil
	}
	args := agentArgs(cg, "/dev/null", append(slices.Clone(extra), strings.Fields(*intelArgs)...))
	return []mode{{name: "C: vigil run " + *intelArgs, start: func() (running, error) { return startIntelAgent(bin, args) }}}
}

// intelAgent is mode C's agent. It is not an *agentProc: the loops treat
// it as a plain mode (the agent's own CPU is mode B's measure).
type intelAgent struct{ agent *agentProc }

func (a intelAgent) stop() (string, error) { return a.agent.stop() }

// startIntelAgent starts the agent with its metrics on a loopback port and
// returns once its sha256 indicators are in force: their count is
// published and stopped changing, and the agent's CPU has settled (writing
// the kernel's tables is its last busy step).
func startIntelAgent(bin string, args []string) (intelAgent, error) {
	port, err := loopbackPort()
	if err != nil {
		return intelAgent{}, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	a, err := startAgent(bin, append(slices.Clone(args), "--metrics-addr", addr), nil)
	if err != nil {
		return intelAgent{}, err
	}
	t0 := time.Now()
	var last float64
	for deadline := t0.Add(15 * time.Minute); ; {
		if time.Now().After(deadline) {
			_, _ = a.stop()
			return intelAgent{}, errors.New("intel indicators not in force within 15 minutes")
		}
		cpu, wall := a.measure(func() { time.Sleep(time.Second) })
		n := sha256Indicators(addr)
		if n > 0 && n == last && float64(cpu) < 0.05*float64(wall) {
			fmt.Fprintf(os.Stderr, "C: %.0f sha256 indicators in force %v after the agent started\n", n, time.Since(t0).Round(time.Second))
			return intelAgent{agent: a}, nil
		}
		last = n
	}
}

// sha256Indicators sums vigil_intel_indicators{type="sha256"} over the
// sources; 0 while the metrics do not answer.
func sha256Indicators(addr string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0
	}
	var sum float64
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "vigil_intel_indicators{") && strings.Contains(l, `type="sha256"`) {
			if i := strings.LastIndexByte(l, ' '); i > 0 {
				v, _ := strconv.ParseFloat(l[i+1:], 64)
				sum += v
			}
		}
	}
	return sum
}

func loopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
