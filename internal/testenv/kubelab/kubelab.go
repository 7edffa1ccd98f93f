// Package kubelab gives tests a real Kubernetes on 127.0.0.1: etcd and
// kube-apiserver (APIServer), or a whole node on top of them, with
// containerd, kube-controller-manager, kube-scheduler and a kubelet that
// runs real pods (Cluster). The components are built from the Go module
// proxy by scripts/k8s/build.sh (make k8s) into a cache outside the tree;
// scripts/k8s starts and stops them, and this package drives those scripts.
//
// The servers use fixed ports, so one lab runs per machine at a time: a lab
// holds an exclusive flock on <state>/lock from its start to its stop, and
// labs of test binaries that `go test ./...` runs in parallel wait for each
// other. A watchdog process beside every lab inherits that lock and stops
// the lab when the test binary dies without doing so (panic, timeout,
// SIGKILL); the next lab starts only after it is done.
//
// The package talks to Kubernetes only through the kubectl binary: it does
// not import client-go, so a test of the agent's own client sees a server
// that nothing else in the process is connected to.
package kubelab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// Mode says how much of Kubernetes a lab runs.
type Mode int

const (
	// APIServerMode runs etcd and kube-apiserver: objects, watches and
	// RBAC, but no node, so pods stay Pending.
	APIServerMode Mode = iota + 1
	// ClusterMode adds containerd, the controller manager, the scheduler
	// and a kubelet: one Ready node whose pods run as real containers.
	ClusterMode
)

func (m Mode) String() string {
	switch m {
	case APIServerMode:
		return "apiserver"
	case ClusterMode:
		return "cluster"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Lab is a running lab as one test sees it: the exported fields describe
// it, and the methods fail that test when a step fails.
type Lab struct {
	Mode            Mode
	Kubeconfig      string // admin (system:masters) kubeconfig
	AgentKubeconfig string // user vigil-agent: get, list, watch on pods, namespaces, nodes, workloads
	Server          string // https://127.0.0.1:6443
	NodeName        string // the kubelet's node (ClusterMode)
	CRISocket       string // containerd's socket, the CRI endpoint (ClusterMode)
	BinDir          string // kube-apiserver, etcd, kubectl, kubelet, ...
	StateDir        string // everything the running lab has; logs in StateDir/run
	BusyboxImage    string // a busybox image the node has; pods must use imagePullPolicy: Never

	tb testing.TB
	c  *core
}

// core is the running lab shared by the handles tests get.
type core struct {
	mode     Mode
	env      map[string]string // scripts/k8s/env.sh
	scripts  string
	lock     *os.File
	watchdog *exec.Cmd
	info     Lab

	mu      sync.Mutex
	stopped bool
}

// APIServer returns a lab running etcd and kube-apiserver (or the package's
// shared lab, see Main). Outside CI it skips the test when the binaries or
// tools are missing; under CI=true it fails it.
func APIServer(tb testing.TB) *Lab {
	tb.Helper()
	return get(tb, APIServerMode)
}

// Cluster returns a lab running a whole node (or the package's shared lab,
// see Main). Outside CI it skips the test when the binaries or tools are
// missing; under CI=true it fails it.
func Cluster(tb testing.TB) *Lab {
	tb.Helper()
	return get(tb, ClusterMode)
}

// shared is the lab that Main starts for a whole test binary, on first use.
var shared struct {
	mu   sync.Mutex
	main bool
	mode Mode
	c    *core
	err  error
}

// Main runs a package's tests with one lab for all of them, started by the
// first test that asks for it (APIServer or Cluster: a cluster lab serves
// both) and stopped after the last test:
//
//	func TestMain(m *testing.M) { kubelab.Main(m, kubelab.ClusterMode) }
//
// Without Main, each APIServer or Cluster call starts a lab of its own and
// stops it when the test ends. A test that needs a fresh lab cannot have
// one under Main.
func Main(m *testing.M, mode Mode) {
	os.Exit(Run(m, mode))
}

// Run is Main without the os.Exit, for a TestMain that does more.
func Run(m *testing.M, mode Mode) int {
	shared.mu.Lock()
	shared.main, shared.mode = true, mode
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	c := shared.c
	shared.c = nil
	shared.mu.Unlock()
	if c != nil {
		if out, err := c.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "kubelab: stop: %v\n%s", err, out)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

func get(tb testing.TB, mode Mode) *Lab {
	tb.Helper()
	scripts, env, err := locate()
	if err != nil {
		tb.Fatalf("kubelab: %v", err)
	}
	if reason := missing(env, mode); reason != "" {
		testenv.Unavailable(tb, reason)
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.main {
		if mode > shared.mode {
			tb.Fatalf("kubelab: the test asks for a %s lab, but TestMain runs kubelab.Main with %s", mode, shared.mode)
		}
		if shared.err != nil {
			tb.Fatalf("kubelab: the package's lab did not start: %v", shared.err)
		}
		if shared.c == nil {
			if reason := missing(env, shared.mode); reason != "" {
				testenv.Unavailable(tb, reason)
			}
			c, err := start(tb, scripts, env, shared.mode)
			if err != nil {
				shared.err = err
				tb.Fatalf("kubelab: %v", err)
			}
			shared.c = c
		}
		return shared.c.handle(tb)
	}
	c, err := start(tb, scripts, env, mode)
	if err != nil {
		tb.Fatalf("kubelab: %v", err)
	}
	tb.Cleanup(func() {
		if out, err := c.stop(); err != nil {
			tb.Errorf("kubelab: stop: %v\n%s", err, out)
		}
	})
	return c.handle(tb)
}

func (c *core) handle(tb testing.TB) *Lab {
	l := c.info
	l.tb, l.c = tb, c
	return &l
}

// locate finds scripts/k8s (VIGIL_K8S_SCRIPTS, or above the working
// directory, which go test makes the package's) and reads its settings.
func locate() (string, map[string]string, error) {
	dir := os.Getenv("VIGIL_K8S_SCRIPTS")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", nil, err
		}
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "scripts/k8s/env.sh")); err == nil {
				dir = filepath.Join(d, "scripts/k8s")
				break
			}
			if filepath.Dir(d) == d {
				return "", nil, fmt.Errorf("no scripts/k8s above %s (set VIGIL_K8S_SCRIPTS)", wd)
			}
		}
	}
	out, err := exec.Command("bash", filepath.Join(dir, "env.sh")).Output()
	if err != nil {
		return "", nil, fmt.Errorf("%s/env.sh: %w", dir, err)
	}
	return dir, parseEnv(out), nil
}

func parseEnv(b []byte) map[string]string {
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok {
			env[k] = v
		}
	}
	return env
}

// missing names what this machine lacks for a lab of the mode, or "".
func missing(env map[string]string, mode Mode) string {
	if os.Geteuid() != 0 {
		return "a Kubernetes lab needs root"
	}
	comps := env["K8S_APISERVER_COMPONENTS"]
	cmds := []string{"bash", "openssl", "curl", "setsid", "flock"}
	if mode == ClusterMode {
		comps = env["K8S_CLUSTER_COMPONENTS"]
		cmds = append(cmds, "containerd", "ctr", "runc", "gcc", "busybox", "ip", "tar", "sha256sum")
	}
	var gaps []string
	for _, c := range strings.Fields(comps) {
		if _, err := os.Stat(filepath.Join(env["VIGIL_K8S_BIN"], c)); err != nil {
			gaps = append(gaps, c)
		}
	}
	if len(gaps) > 0 {
		return fmt.Sprintf("no Kubernetes %s in %s: run make k8s (builds them from the Go module proxy, 12-15 min cold)",
			strings.Join(gaps, ", "), env["VIGIL_K8S_BIN"])
	}
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			gaps = append(gaps, c)
		}
	}
	if mode == ClusterMode {
		if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil && os.Getenv("VIGIL_K8S_CNI_BIN") == "" {
			gaps = append(gaps, "/usr/lib/cni/bridge")
		}
	}
	if len(gaps) > 0 {
		return "the Kubernetes lab needs " + strings.Join(gaps, ", ") +
			" (Debian: containerd runc containernetworking-plugins busybox-static gcc libc6-dev openssl curl iproute2; scripts/test-deps.sh)"
	}
	return ""
}

// lockWait bounds the wait for another test binary's lab: long enough for
// a package's whole run.
const lockWait = 15 * time.Minute

func start(tb testing.TB, scripts string, env map[string]string, mode Mode) (c *core, err error) {
	tb.Helper()
	state := env["VIGIL_K8S_STATE"]
	if err := os.MkdirAll(state, 0o755); err != nil {
		return nil, err
	}
	lock, err := acquire(tb, filepath.Join(state, "lock"))
	if err != nil {
		return nil, err
	}
	c = &core{mode: mode, env: env, scripts: scripts, lock: lock}
	// the watchdog holds the lock too (descriptor 3), until it is killed
	// or has stopped the lab of a test binary that died
	c.watchdog = exec.Command("bash", filepath.Join(scripts, "watchdog.sh"), strconv.Itoa(os.Getpid()))
	c.watchdog.Env = c.environ()
	c.watchdog.ExtraFiles = []*os.File{lock}
	c.watchdog.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.watchdog.Start(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("watchdog: %w", err)
	}
	defer func() {
		if err != nil {
			if out, serr := c.stop(); serr != nil {
				tb.Logf("kubelab: stop after a failed start: %v\n%s", serr, out)
			}
		}
	}()
	t0 := time.Now()
	out, err := c.script(10*time.Minute, "start.sh", mode.String())
	if err != nil {
		return nil, fmt.Errorf("start %s: %w\n%s%s", mode, err, out, c.logTails())
	}
	tb.Logf("kubelab: %s lab up in %.1f s:\n%s", mode, time.Since(t0).Seconds(), out)
	raw, err := os.ReadFile(filepath.Join(state, "env"))
	if err != nil {
		return nil, err
	}
	e := parseEnv(raw)
	c.info = Lab{
		Mode:            mode,
		Kubeconfig:      e["KUBECONFIG"],
		AgentKubeconfig: e["VIGIL_K8S_AGENT_KUBECONFIG"],
		Server:          e["VIGIL_K8S_SERVER"],
		CRISocket:       e["VIGIL_K8S_CRI_SOCKET"],
		BinDir:          e["VIGIL_K8S_BIN"],
		StateDir:        state,
	}
	if mode == ClusterMode {
		c.info.NodeName = e["VIGIL_K8S_NODE"]
		c.info.BusyboxImage = e["VIGIL_K8S_BUSYBOX_IMAGE"]
	}
	return c, nil
}

// acquire takes the exclusive lock on path, waiting at most lockWait, and
// writes the holder's pid into it.
func acquire(tb testing.TB, path string) (*os.File, error) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(lockWait)
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			holder, _ := os.ReadFile(path)
			f.Close()
			return nil, fmt.Errorf("lock %s: held for more than %v by pid %s", path, lockWait, strings.TrimSpace(string(holder)))
		}
		if !logged {
			holder, _ := os.ReadFile(path)
			tb.Logf("kubelab: waiting for %s (held by pid %s)", path, strings.TrimSpace(string(holder)))
			logged = true
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// stop stops the lab (once), ends the watchdog and releases the lock.
func (c *core) stop() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return "", nil
	}
	c.stopped = true
	out, err := c.script(5*time.Minute, "stop.sh")
	if c.watchdog != nil && c.watchdog.Process != nil {
		// its process group: the shell and its sleep
		_ = syscall.Kill(-c.watchdog.Process.Pid, syscall.SIGKILL)
		_ = c.watchdog.Wait()
	}
	c.lock.Close()
	return out, err
}

// script runs one of scripts/k8s with the lab's settings.
func (c *core) script(limit time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(c.scripts, name)}, args...)...)
	cmd.Env = c.environ()
	// the daemons it starts keep no descriptor of ours: output goes to a
	// buffer that is complete when the script exits
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// environ is the scripts' environment: ours, with the settings this lab
// was started with.
func (c *core) environ() []string {
	env := append(os.Environ(), "VIGIL_K8S_LOCK_HELD=1") // this process holds it
	for _, k := range []string{"VIGIL_K8S_VERSION", "VIGIL_K8S_CACHE", "VIGIL_K8S_BIN", "VIGIL_K8S_STATE", "VIGIL_K8S_NODE"} {
		env = append(env, k+"="+c.env[k])
	}
	return env
}

// logTails is the end of each component's log, for a failed start.
func (c *core) logTails() string {
	var b strings.Builder
	for _, n := range []string{"containerd", "etcd", "apiserver", "kcm", "scheduler", "kubelet"} {
		raw, err := os.ReadFile(filepath.Join(c.env["K8S_RUN"], n+".log"))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "--- %s.log (last %d lines)\n%s\n", n, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}
