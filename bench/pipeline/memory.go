package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// memory: the agent's memory after start, right after n short-lived
// processes (each a fork, exec and exit the agent follows and caches),
// and once the exited ones left the process cache: resident memory split
// by kind (smaps), the Go runtime's own figures (its metrics endpoint),
// and in-use heap profiles after start and after the load, kept in
// profDir when given.
func (b *bench) memory(n int, budget time.Duration, profDir string, extra []string) error {
	if profDir == "" {
		profDir = b.dir
	}
	// a run that only starts: the heap profile after start
	startProf := filepath.Join(profDir, "heap-start.pprof")
	a, err := b.start("memory-start", append([]string{"--mem-profile", startProf}, extra...)...)
	if err != nil {
		return err
	}
	time.Sleep(idleWindow)
	if err := a.stop(); err != nil {
		return err
	}

	port, err := freePort()
	if err != nil {
		return err
	}
	loadProf := filepath.Join(profDir, "heap-load.pprof")
	a, err = b.start("memory", append([]string{"--metrics-addr", "127.0.0.1:" + strconv.Itoa(port), "--mem-profile", loadProf}, extra...)...)
	if err != nil {
		return err
	}
	time.Sleep(idleWindow)
	snaps := []memSnap{a.memSnap("after start", port)}
	made, took, err := b.spawn(n, budget)
	if err != nil {
		_ = a.stop()
		return err
	}
	time.Sleep(idleWindow)
	snaps = append(snaps, a.memSnap(fmt.Sprintf("after %d processes", made), port))
	// the exited processes stay ExitGrace (30s by default), then go
	time.Sleep(35 * time.Second)
	snaps = append(snaps, a.memSnap("35 s later (exit grace over)", port))
	if err := a.stop(); err != nil {
		return err
	}
	summary := ""
	for _, l := range strings.Split(a.log.String(), "\n") {
		if strings.HasPrefix(l, "vigil stopped") {
			summary = l
		}
	}
	fmt.Printf("\n== memory (agent flags: %q): %d short-lived processes (fork, exec /bin/true, exit) in %v (%.0f/s)\n", strings.Join(extra, " "), made, took.Round(time.Second), float64(made)/took.Seconds())
	fmt.Println("| when | VmRSS | anonymous | file-backed | ring buffer mapping (Rss / Pss) | binary's pages | Go heap in use | Go stacks | Go sys | process cache |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, s := range snaps {
		fmt.Printf("| %s | %.1f MB | %.1f MB | %.1f MB | %.1f / %.1f MB | %.1f MB | %.1f MB | %.1f MB | %.1f MB | %.0f |\n", s.when,
			kb(s.smaps["VmRSS"]), kb(s.smaps["RssAnon"]), kb(s.smaps["RssFile"]), kb(s.ringRss), kb(s.ringPss), kb(s.binRss),
			mb(uint64(s.gom["go_memstats_heap_inuse_bytes"])), mb(uint64(s.gom["go_memstats_stack_inuse_bytes"])),
			mb(uint64(s.gom["go_memstats_sys_bytes"])), s.gom["vigil_process_cache_entries"])
	}
	fmt.Println(summary)
	fmt.Printf("in-use heap profiles: %s (after start), %s (after the load); go tool pprof -sample_index=inuse_space -top\n", startProf, loadProf)
	return nil
}

// spawn starts n short-lived processes from two children on the
// generator's core, within budget.
func (b *bench) spawn(n int, budget time.Duration) (made int, took time.Duration, err error) {
	self, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	deadline := time.Now().Add(budget).UnixNano()
	const workers = 2
	outs := make([]chan string, workers)
	start := time.Now()
	for i := range outs {
		outs[i] = make(chan string, 1)
		cmd := exec.Command("taskset", "-c", strconv.Itoa(b.genCPU), self)
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=spawn %d %d", childEnv, n/workers, deadline))
		cmd.Stderr = os.Stderr
		go func(c chan string) {
			out, err := cmd.Output()
			if err != nil {
				c <- "error " + err.Error()
				return
			}
			c <- string(out)
		}(outs[i])
	}
	for _, c := range outs {
		var k int
		var ns int64
		out := <-c
		if _, err := fmt.Sscanf(out, "%d %d", &k, &ns); err != nil {
			return made, 0, fmt.Errorf("spawner said %q", out)
		}
		made += k
	}
	return made, time.Since(start), nil
}

// memSnap is the agent's memory at one moment.
type memSnap struct {
	when             string
	smaps            map[string]uint64 // /proc/PID/status Vm*/Rss* lines, kB
	ringRss, ringPss uint64            // the ring buffer's mapping, kB
	binRss           uint64            // the agent binary's mappings, kB
	gom              map[string]float64
}

func (a *agent) memSnap(when string, port int) memSnap {
	s := memSnap{when: when, smaps: map[string]uint64{}, gom: map[string]float64{}}
	pid := a.cmd.Process.Pid
	if raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			k, v, ok := strings.Cut(l, ":")
			if ok && (strings.HasPrefix(k, "Vm") || strings.HasPrefix(k, "Rss")) {
				s.smaps[k], _ = strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			}
		}
	}
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid)); err == nil {
		var name string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			l := sc.Text()
			fields := strings.Fields(l)
			if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
				name = ""
				if len(fields) >= 6 {
					name = fields[5]
				}
				continue
			}
			if len(fields) < 2 {
				continue
			}
			v, _ := strconv.ParseUint(fields[1], 10, 64)
			switch {
			case name == "anon_inode:bpf-map" && fields[0] == "Rss:":
				s.ringRss += v // the only bpf map the agent maps is the ring
			case name == "anon_inode:bpf-map" && fields[0] == "Pss:":
				s.ringPss += v
			case name == exe && fields[0] == "Rss:":
				s.binRss += v
			}
		}
		_ = f.Close()
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		for _, l := range strings.Split(string(body), "\n") {
			k, v, ok := strings.Cut(l, " ")
			if ok && !strings.HasPrefix(k, "#") {
				s.gom[k], _ = strconv.ParseFloat(v, 64)
			}
		}
	}
	return s
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// kb is a /proc figure in kB as MB.
func kb(v uint64) float64 { return float64(v) * 1024 / 1e6 }
