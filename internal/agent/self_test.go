package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proctree"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/rule"
	"github.com/vigil-sec/vigil/internal/sensor/privilege/privtest"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/rules"
)

// selfSink keeps the events (as a collector does) and the alerts the
// agent writes.
type selfSink struct {
	collector
	alerts []*event.Alert // under the collector's mu
}

func (s *selfSink) WriteAlert(al *event.Alert) error {
	s.mu.Lock()
	s.alerts = append(s.alerts, al)
	s.mu.Unlock()
	return nil
}

// rulesOn lists the rules that alerted on the processes pids.
func (s *selfSink) rulesOn(pids []int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, al := range s.alerts {
		if p := al.Event.Process; p != nil && slices.Contains(pids, int(p.PID)) {
			out = append(out, al.Rule.Name)
		}
	}
	return out
}

func (s *selfSink) eventsOn(pids []int) []*event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*event.Event
	for _, ev := range s.events {
		if ev.Process != nil && slices.Contains(pids, int(ev.Process.PID)) {
			out = append(out, ev)
		}
	}
	return out
}

// selfRules are the default pack's rules that vigil's own work trips.
var selfRules = []string{"exec_from_temp_dir", "bpf_program_by_unexpected_process", "namespace_change_on_host"}

// TestVigilOwnExecutableRaisesNoAlerts: with the default rule pack, the
// agent's own executable (this test binary, linked into /tmp) run from a
// temporary directory, loading a BPF program and unsharing a network
// namespace raises none of the rules about those; a byte-for-byte copy
// named vigil doing the same raises all three, as the name counts for
// nothing.
func TestVigilOwnExecutableRaisesNoAlerts(t *testing.T) {
	testenv.RequirePrivileged(t)
	cg := testenv.NewCgroup(t)
	srcs, err := rules.Sources()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rule.Compile(srcs)
	if err != nil {
		t.Fatal(err)
	}
	// the executables must lie below /tmp, one of the pack's temp_dirs
	dir, err := os.MkdirTemp("/tmp", "vigil-self-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	self = realPath(t, self)
	// a hard link is the agent's own executable under another path
	// and name: same device and inode
	own := filepath.Join(dir, "agent-under-test")
	if err := os.Link(self, own); err != nil {
		testenv.Unavailable(t, fmt.Sprintf("hard link %s into /tmp: %v", self, err))
	}
	imposter := filepath.Join(dir, "copy", "vigil")
	if err := os.Mkdir(filepath.Dir(imposter), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, self, imposter)

	sink := &selfSink{}
	a, err := New(Config{Ring: ring.DefaultConfig(), ProcTree: proctree.DefaultConfig(), Cgroup: cg.Rel(),
		Rules: rule.NewEngine(rs, rule.Config{}), Sink: sink, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("start agent: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("agent run: %v", err)
			}
		}
	}
	t.Cleanup(func() {
		stop()
		if err := a.Close(); err != nil {
			t.Errorf("agent close: %v", err)
		}
	})

	// each helper is the test binary run as a privtest helper through
	// path: an exec from /tmp, then one privileged action
	run := func(path, action string, args ...string) int {
		t.Helper()
		cmd, err := privtest.Command(action, args...)
		if err != nil {
			t.Fatal(err)
		}
		cmd.Path, cmd.Args[0] = path, path
		cmd.Stdout = io.Discard
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %s: %v", path, action, err)
		}
		return cmd.Process.Pid
	}
	actions := func(path string) []int {
		return []int{
			run(path, "bpf-load", "vigil_selftest", cg.Path),
			run(path, "unshare", fmt.Sprint(unix.CLONE_NEWNET)),
		}
	}
	trusted := actions(own)
	copied := actions(imposter)

	// the copy's alerts come after everything the trusted runs caused,
	// which ran first: once they are in, the trusted runs were judged
	deadline := time.Now().Add(waitLimit)
	for {
		got := sink.rulesOn(copied)
		if !slices.ContainsFunc(selfRules, func(r string) bool { return !slices.Contains(got, r) }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the copy named vigil raised %v; want all of %v", got, selfRules)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()

	if got := sink.rulesOn(trusted); len(got) > 0 {
		t.Errorf("vigil's own executable raised %v", got)
	}
	// the trusted runs were seen, marked, doing what the copy did
	seen := map[event.Kind]bool{}
	unmarked := map[event.Kind]string{}
	for _, ev := range sink.eventsOn(trusted) {
		seen[ev.Kind] = true
		if !ev.Process.IsVigil {
			unmarked[ev.Kind] = ev.Process.Binary
		}
	}
	for k, bin := range unmarked {
		t.Errorf("%s of vigil's own executable %s: process not marked is_vigil", k, bin)
	}
	for _, k := range []event.Kind{event.KindProcessExec, event.KindBPFLoad, event.KindNamespaceChange} {
		if !seen[k] {
			t.Errorf("no %s event of vigil's own executable: the test proves nothing", k)
		}
	}
	for _, ev := range sink.eventsOn(copied) {
		if ev.Process.IsVigil {
			t.Errorf("%s of the copy %s: marked is_vigil", ev.Kind, ev.Process.Binary)
			break
		}
	}
}

// startLog keeps every log record's message and attributes.
type startLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *startLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *startLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}
func (l *startLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *startLog) WithGroup(string) slog.Handler      { return l }

// TestBusyAddressFailsBeforeLoading: a metrics port that another socket
// holds, or an API socket path that is not a socket, makes New fail with
// an error that says so before any start-up stage ran: nothing was
// mounted or loaded. It needs no privileges: when the order is right,
// the kernel is never asked.
func TestBusyAddressFailsBeforeLoading(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	notSocket := filepath.Join(t.TempDir(), "vigil.sock")
	if err := os.WriteFile(notSocket, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		serve ServeConfig
		is    error
		want  string
	}{
		{"metrics port in use", ServeConfig{Metrics: config.Metrics{Address: busy.Addr().String()}},
			unix.EADDRINUSE, "already in use"},
		{"API socket path taken", ServeConfig{Socket: notSocket}, nil, "is not a socket"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logs := &startLog{}
			a, err := New(Config{Ring: ring.DefaultConfig(), ProcTree: proctree.DefaultConfig(),
				Sink: &selfSink{}, Serve: &c.serve, Log: slog.New(logs)})
			if err == nil {
				a.Close()
				t.Fatal("the agent started")
			}
			if !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
				t.Errorf("error %q, want one that says %q", err, c.want)
			}
			for _, l := range logs.lines {
				if strings.HasPrefix(l, "start-up stage") || strings.HasPrefix(l, "mounted") {
					t.Errorf("the agent went on after the address failed: %s", l)
				}
			}
		})
	}
	// the busy port is still the other socket's, and the agent left it be
	if c, err := net.Dial("tcp", busy.Addr().String()); err != nil {
		t.Errorf("the busy port: %v", err)
	} else {
		c.Close()
	}
}

// TestServeBindsBeforeItLoads: with Config.Serve, New serves the API and
// metrics once it returns, on the addresses bound first.
func TestServeBindsBeforeItLoads(t *testing.T) {
	testenv.RequirePrivileged(t)
	sock := filepath.Join(t.TempDir(), "vigil.sock")
	logs := &startLog{}
	a, err := New(Config{Ring: ring.DefaultConfig(), ProcTree: proctree.DefaultConfig(), Sink: &selfSink{},
		Serve: &ServeConfig{Version: "test", Metrics: config.Metrics{Address: "127.0.0.1:0"}, Socket: sock}, Log: slog.New(logs)})
	if err != nil {
		t.Fatalf("start agent: %v", err)
	}
	svc := a.Services()
	if svc == nil || svc.MetricsAddr() == "" {
		a.Close()
		t.Fatal("no services")
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Errorf("API socket: %v", err)
	} else {
		c.Close()
	}
	if err := svc.Close(); err != nil {
		t.Errorf("close services: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("close agent: %v", err)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind: %v", err)
	}
	// listening came first, then the stages that load
	var stages []string
	for _, l := range logs.lines {
		if s, ok := strings.CutPrefix(l, "start-up stage stage="); ok {
			stages = append(stages, strings.Fields(s)[0])
		}
	}
	if len(stages) < 2 || stages[0] != "listen" {
		t.Errorf("start-up stages %q, want listen first", stages)
	}
}
