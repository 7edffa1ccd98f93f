// Command fileguard measures what the file guard costs a process that opens
// and closes a file no policy protects: with no guard, with the guard
// loaded but nothing protected, with 1000 protected files, and with 1000
// protected entries of which 100 are subtrees (every open then walks its
// directories up to the root). The opener is in a cgroup the policy is
// scoped to, so it pays the whole decision. Rounds alternate the modes in
// a random order (the machines are shared and noisy); the report gives
// medians of the opening thread's CPU time per open+close and each mode's
// ratio to the baseline of the same round.
//
//	sudo go run ./bench/fileguard [-rounds 11] [-n 20000]
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
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/fileguard"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
)

const childEnv = "VIGIL_FILEGUARD_BENCH_CHILD"

var modes = []string{"base", "empty", "files", "subtrees"}

func main() {
	if job := os.Getenv(childEnv); job != "" {
		os.Exit(runChild(job))
	}
	rounds := flag.Int("rounds", 11, "alternating rounds")
	n := flag.Int("n", 20000, "open+close pairs per run")
	flag.Parse()
	if os.Geteuid() != 0 {
		fail("fileguard needs root: it loads eBPF programs")
	}
	top, err := os.MkdirTemp("/tmp", "vigil-bench-")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(top)
	target := filepath.Join(top, "a", "b", "c", "file")
	mkfile(target)
	protected := make([]string, 1000)
	for i := range protected {
		protected[i] = filepath.Join(top, "protected", fmt.Sprintf("d%d", i%100), fmt.Sprintf("f%d", i))
		if i < 100 {
			protected[i] = filepath.Dir(protected[i]) // a directory: a subtree entry
		}
		if i >= 100 {
			mkfile(protected[i])
		}
	}
	cg, cgID := makeCgroup()
	defer os.Remove(cg.path)
	defer unix.Close(cg.fd)

	samples := map[string][]float64{} // mode → CPU ns per op, by round
	ratios := map[string][]float64{}
	for r := 0; r < *rounds; r++ {
		order := slices.Clone(modes)
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		got := map[string]float64{}
		for _, m := range order {
			got[m] = runMode(m, target, protected, cg.fd, cgID, *n)
			samples[m] = append(samples[m], got[m])
		}
		for _, m := range modes[1:] {
			ratios[m] = append(ratios[m], got[m]/got["base"])
		}
		fmt.Fprintf(os.Stderr, "round %d/%d done\n", r+1, *rounds)
	}
	fmt.Printf("%d rounds of %d open+close of %s (not protected), CPU time of the opening thread per pair, medians; ÷ is paired with the baseline of the same round.\n\n", *rounds, *n, target)
	fmt.Println("| mode | per open+close | extra | ÷ baseline |")
	fmt.Println("|---|---|---|---|")
	base := median(samples["base"])
	for _, m := range modes {
		ratio := "–"
		if m != "base" {
			ratio = fmt.Sprintf("%.3f", median(ratios[m]))
		}
		med := median(samples[m])
		fmt.Printf("| %s | %.0f ns | %+.0f ns | %s |\n", describe[m], med, med-base, ratio)
	}
}

var describe = map[string]string{
	"base":     "no guard",
	"empty":    "guard loaded, nothing protected",
	"files":    "1000 protected files",
	"subtrees": "900 files + 100 subtree directories",
}

// runMode sets the mode up, runs one child, tears the mode down.
func runMode(mode, target string, protected []string, cgFD int, cgID uint64, n int) float64 {
	if mode == "base" {
		return run(target, cgFD, n)
	}
	dir := fmt.Sprintf("/sys/fs/bpf/vigil-bench-%d", os.Getpid())
	defer pinned.Remove(dir)
	r, err := ring.New(ring.Config{Size: 1 << 20, Scope: ring.Scope{AgentPID: uint32(os.Getpid())}})
	check(err)
	defer r.Close()
	st, err := pinned.Open(dir)
	check(err)
	defer st.Close()
	check(st.SetScopes(map[uint64]uint64{cgID: 1}))
	check(st.SetPolicies(0, 0, true))
	g, err := fileguard.Load(fileguard.Options{PinDir: dir, Ring: r})
	check(err)
	defer g.Close()
	if mode != "empty" {
		paths := protected
		if mode == "files" {
			paths = protected[100:]
		}
		res, err := g.ResolveAll(paths)
		check(err)
		want := map[fileguard.InodeKey]fileguard.Entry{}
		v := pinned.Verdict{Enforce: 1}
		for _, x := range res {
			want[x.Key] = fileguard.Entry{Subtree: x.IsDir, Write: v, Read: v}
		}
		check(g.SetProtected(want))
	}
	return run(target, cgFD, n)
}

// run starts a child in the cgroup that opens and closes target n times.
func run(target string, cgFD, n int) float64 {
	self, err := os.Executable()
	check(err)
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", childEnv, target, n))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cgFD}
	out, err := cmd.Output()
	check(err)
	var ns float64
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "%g", &ns); err != nil {
		fail("child said %q: %v", out, err)
	}
	return ns
}

func runChild(job string) int {
	var path string
	var n int
	if _, err := fmt.Sscanf(job, "%s %d", &path, &n); err != nil || n <= 0 {
		fmt.Fprintf(os.Stderr, "child: bad job %q\n", job)
		return 2
	}
	runtime.LockOSThread() // the thread CPU clock must be the loop's
	op := func() {
		fd, err := unix.Openat(unix.AT_FDCWD, path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child: open:", err)
			os.Exit(1)
		}
		unix.Close(fd)
	}
	for i := 0; i < n/10; i++ { // warm the dentry cache and the branch predictors
		op()
	}
	cpu0 := threadCPU()
	for i := 0; i < n; i++ {
		op()
	}
	fmt.Printf("%d\n", (threadCPU()-cpu0).Nanoseconds()/int64(n))
	return 0
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		fail("thread CPU clock: %v", err)
	}
	return time.Duration(ts.Nano())
}

type cgroup struct {
	path string
	fd   int
}

// makeCgroup makes a cgroup v2 child for the opener.
func makeCgroup() (cgroup, uint64) {
	root, err := kernel.Cgroup2Root()
	check(err)
	path := filepath.Join(root, fmt.Sprintf("vigil-bench-%d", os.Getpid()))
	check(os.Mkdir(path, 0o755))
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	check(err)
	id, err := kernel.CgroupID(path)
	check(err)
	return cgroup{path, fd}, id
}

func mkfile(p string) {
	check(os.MkdirAll(filepath.Dir(p), 0o755))
	check(os.WriteFile(p, []byte("x"), 0o644))
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
	fmt.Fprintf(os.Stderr, "fileguard: "+format+"\n", args...)
	os.Exit(1)
}
