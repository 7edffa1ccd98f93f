// Command modguard measures what the module guard costs every other system
// call: where the kernel has no init_module tracepoints (CONFIG_MODULES
// off) the guard watches through a dispatcher on the raw sys_enter and
// sys_exit tracepoints, which every call passes. A child loops over
// getppid with the guard loaded (a blocking policy set) and without, in
// alternating rounds of random order; the report gives medians of the
// child's CPU time per call and the ratio to the baseline of the same
// round.
//
//	sudo go run ./bench/modguard [-rounds 11] [-n 2000000]
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/modguard"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
)

const childEnv = "VIGIL_MODGUARD_BENCH_CHILD"

func main() {
	if job := os.Getenv(childEnv); job != "" {
		os.Exit(runChild(job))
	}
	rounds := flag.Int("rounds", 11, "alternating rounds")
	n := flag.Int("n", 2000000, "getppid calls per run")
	flag.Parse()
	if os.Geteuid() != 0 {
		fail("modguard needs root: it loads eBPF programs")
	}
	var base, guard, ratios []float64
	mode := ""
	for r := 0; r < *rounds; r++ {
		order := []bool{false, true}
		rand.Shuffle(2, func(i, j int) { order[i], order[j] = order[j], order[i] })
		var b, g float64
		for _, loaded := range order {
			if !loaded {
				b = run(*n)
				continue
			}
			var stop func()
			mode, stop = load()
			g = run(*n)
			stop()
		}
		base, guard, ratios = append(base, b), append(guard, g), append(ratios, g/b)
		fmt.Fprintf(os.Stderr, "round %d/%d done\n", r+1, *rounds)
	}
	fmt.Printf("%d rounds of %d getppid calls; CPU time of the calling thread per call, medians; ÷ is paired with the baseline of the same round. Guard mode: %s.\n\n", *rounds, *n, mode)
	fmt.Println("| mode | per getppid | extra | ÷ baseline |")
	fmt.Println("|---|---|---|---|")
	fmt.Printf("| no guard | %.1f ns | – | – |\n", median(base))
	fmt.Printf("| module guard loaded | %.1f ns | %+.1f ns | %.3f |\n", median(guard), median(guard)-median(base), median(ratios))
}

// load loads the guard with a blocking policy scoped to an empty cgroup of
// the benchmark's own: a host-wide one would kill whatever else on this
// shared machine tried a module call meanwhile. Scope plays no part in the
// cost measured: the dispatcher drops every other call by its number
// before it looks at policies.
func load() (string, func()) {
	cg, cgID := makeCgroup()
	dir := fmt.Sprintf("/sys/fs/bpf/vigil-bench-%d", os.Getpid())
	r, err := ring.New(ring.Config{Size: 1 << 20, Scope: ring.Scope{AgentPID: uint32(os.Getpid())}})
	check(err)
	st, err := pinned.Open(dir)
	check(err)
	check(st.SetScopes(map[uint64]uint64{cgID: 1}))
	check(st.SetPolicies(0, 0, true))
	g, err := modguard.Load(modguard.Options{PinDir: dir, Ring: r})
	check(err)
	check(g.SetBlock(pinned.Verdict{Enforce: 1}))
	return g.Mode(), func() {
		g.Close()
		st.Close()
		pinned.Remove(dir)
		r.Close()
		os.Remove(cg)
	}
}

// makeCgroup makes an empty cgroup v2 child.
func makeCgroup() (string, uint64) {
	root, err := kernel.Cgroup2Root()
	check(err)
	path := filepath.Join(root, fmt.Sprintf("vigil-bench-%d", os.Getpid()))
	check(os.Mkdir(path, 0o755))
	id, err := kernel.CgroupID(path)
	check(err)
	return path, id
}

func run(n int) float64 {
	self, err := os.Executable()
	check(err)
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", childEnv, n))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	check(err)
	var ns float64
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "%g", &ns); err != nil {
		fail("child said %q: %v", out, err)
	}
	return ns
}

func runChild(job string) int {
	var n int
	if _, err := fmt.Sscanf(job, "%d", &n); err != nil || n <= 0 {
		fmt.Fprintf(os.Stderr, "child: bad job %q\n", job)
		return 2
	}
	runtime.LockOSThread() // the thread CPU clock must be the loop's
	for i := 0; i < n/10; i++ {
		unix.Getppid()
	}
	cpu0 := threadCPU()
	for i := 0; i < n; i++ {
		unix.Getppid()
	}
	fmt.Printf("%.2f\n", float64((threadCPU()-cpu0).Nanoseconds())/float64(n))
	return 0
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		fail("thread CPU clock: %v", err)
	}
	return time.Duration(ts.Nano())
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "modguard: "+format+"\n", args...)
	os.Exit(1)
}
