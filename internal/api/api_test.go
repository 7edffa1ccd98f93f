package api

import (
	"context"
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

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/testenv"
)

func TestMain(m *testing.M) {
	// as a helper, the test binary only tries to connect, then exits
	if sock := os.Getenv(dialHelperEnv); sock != "" {
		os.Exit(dialHelper(sock))
	}
	if sock := os.Getenv(requestHelperEnv); sock != "" {
		os.Exit(requestHelper(sock, os.Getenv(requestHelperCall)))
	}
	testenv.Main(m)
}

const dialHelperEnv = "VIGIL_API_TEST_DIAL"

// dialHelper exits 0 when it could connect, 3 when refused for lack of
// permission, 1 otherwise.
func dialHelper(sock string) int {
	c, err := net.Dial("unix", sock)
	if err == nil {
		c.Close()
		return 0
	}
	if errors.Is(err, os.ErrPermission) {
		return 3
	}
	os.Stderr.WriteString(err.Error() + "\n")
	return 1
}

// pipeline is a fixed reading of the agent's counters.
type pipeline struct{ stats metrics.PipelineStats }

func (p pipeline) PipelineStats() metrics.PipelineStats { return p.stats }

func listen(t *testing.T, opts Options) (*Server, *Client) {
	t.Helper()
	if opts.Socket == "" {
		opts.Socket = filepath.Join(t.TempDir(), "run", "vigil.sock")
	}
	s, err := Listen(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, NewClient(opts.Socket)
}

// TestSocketIsRootOnly: the socket is 0600 and the agent's, in a 0700
// directory; another user cannot connect.
func TestSocketIsRootOnly(t *testing.T) {
	s, _ := listen(t, Options{})
	st, err := os.Stat(s.Socket())
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Type() != os.ModeSocket || st.Mode().Perm() != SocketMode {
		t.Errorf("socket mode %v, want a socket with %v", st.Mode(), SocketMode)
	}
	if uid := st.Sys().(*syscall.Stat_t).Uid; int(uid) != os.Geteuid() {
		t.Errorf("socket owned by %d, want %d", uid, os.Geteuid())
	}
	dir, err := os.Stat(filepath.Dir(s.Socket()))
	if err != nil {
		t.Fatal(err)
	}
	if dir.Mode().Perm() != 0o700 {
		t.Errorf("socket directory mode %v, want 0700", dir.Mode().Perm())
	}
	if os.Geteuid() != 0 {
		t.Skip("checking another user's access needs root")
	}
	// make the directories traversable, so that only the socket's own
	// mode stands in the way
	for d := filepath.Dir(s.Socket()); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// the build directory is not the other user's to read: copy the
	// helper next to the socket
	self := filepath.Join(filepath.Dir(filepath.Dir(s.Socket())), "helper")
	copyExecutable(t, self)
	for _, tc := range []struct {
		uid  uint32
		want int
	}{{0, 0}, {65534, 3}} {
		cmd := exec.Command(self, "-test.run=^$")
		cmd.Env = append(os.Environ(), dialHelperEnv+"="+s.Socket())
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: tc.uid, Gid: tc.uid}}
		cmd.Stderr = os.Stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.want {
			t.Errorf("uid %d connecting: exit %d, want %d (0 connected, 3 permission denied)", tc.uid, code, tc.want)
		}
	}
}

// TestStaleSocketIsReplacedLiveOneRefused.
func TestStaleSocketIsReplacedLiveOneRefused(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "vigil.sock")
	// a socket left behind by an agent that died
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	s, _ := listen(t, Options{Socket: sock})
	if _, err := Listen(Options{Socket: sock}); err == nil || !strings.Contains(err.Error(), "another vigil agent") {
		t.Errorf("second agent on a live socket: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after close: %v", err)
	}
	regular := filepath.Join(dir, "file")
	os.WriteFile(regular, nil, 0o600)
	if _, err := Listen(Options{Socket: regular}); err == nil {
		t.Error("listened over a regular file")
	}
}

// TestFilteredStream: the agent side applies the filter; only matching
// events and alerts reach the client, in order.
func TestFilteredStream(t *testing.T) {
	hub := NewHub()
	_, c := listen(t, Options{Hub: hub})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.Events(ctx, StreamFilter{Events: true, Alerts: true, Kinds: []event.Kind{event.KindProcessExec}, Binaries: []string{"curl"}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if !hub.Listening() {
		t.Fatal("hub does not know it has a subscriber")
	}
	proc := func(pid uint32, bin string) *event.Process { return &event.Process{PID: pid, Binary: bin} }
	hub.Write(&event.Event{Kind: event.KindProcessExec, Process: proc(1, "/usr/bin/wget")})
	hub.Write(&event.Event{Kind: event.KindProcessExit, Process: proc(2, "/usr/bin/curl")})
	hub.Write(&event.Event{Kind: event.KindProcessExec, Process: proc(3, "/usr/bin/curl")})
	hub.WriteAlert(&event.Alert{Kind: event.KindAlert, Rule: event.RuleRef{Name: "dl", Severity: event.SeverityHigh},
		Event: &event.Event{Kind: event.KindProcessExec, Process: proc(4, "/opt/curl")}})
	it, err := st.Next()
	if err != nil || it.Event == nil || it.Event.Process.PID != 3 {
		t.Fatalf("first item %+v, %v: want the exec of pid 3", it, err)
	}
	it, err = st.Next()
	if err != nil || it.Alert == nil || it.Alert.Event.Process.PID != 4 {
		t.Fatalf("second item %+v, %v: want the alert on pid 4", it, err)
	}
}

// TestDropsRecordsReachEveryStream: a drops record passes every stream's
// filter, and the client decodes it as one.
func TestDropsRecordsReachEveryStream(t *testing.T) {
	hub := NewHub()
	_, c := listen(t, Options{Hub: hub})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.Events(ctx, StreamFilter{Alerts: true, Rules: []string{"nothing_matches"}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	hub.WriteDrops(&event.Drops{Time: now, Kind: event.KindDrops, Node: "n1", Since: now.Add(-time.Second), Until: now,
		Total: 7, Counts: []event.DropCount{{Stage: "kernel", Reason: "ringbuf_full", Kind: event.KindFileOpen, Count: 7}}})
	it, err := st.Next()
	if err != nil || it.Drops == nil || it.Drops.Total != 7 || it.Drops.Counts[0].Kind != event.KindFileOpen {
		t.Fatalf("item %+v, %v: want the drops record", it, err)
	}
}

// TestSlowReaderDropsAreReported: a reader that does not read loses lines,
// counted by the hub and announced in the stream.
func TestSlowReaderDropsAreReported(t *testing.T) {
	hub := NewHub()
	_, c := listen(t, Options{Hub: hub})
	// a safety net only: the test ends when the stream is read
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := c.Events(ctx, StreamFilter{Events: true, Alerts: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// far more than the subscriber buffer (4096 lines) and the socket
	// buffers (a few hundred of these lines) hold
	const n = 40000
	pad := strings.Repeat("x", 200)
	for i := range n {
		hub.Write(&event.Event{Kind: event.KindProcessExec, Process: &event.Process{PID: uint32(i), Cwd: pad}})
	}
	dropped := hub.StreamStats().Dropped
	if dropped == 0 {
		t.Fatal("nothing dropped for a reader that did not read")
	}
	var got, announced uint64
	for got+announced < n {
		it, err := st.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if it.Dropped > 0 {
			announced += it.Dropped
		} else {
			got++
		}
	}
	if got+dropped != n || announced != dropped {
		t.Errorf("received %d, dropped %d (announced %d), want %d in all", got, dropped, announced, n)
	}
}

func TestStatus(t *testing.T) {
	hub := NewHub()
	f, err := output.NewFanout([]output.Route{{Name: "api", Type: "api", Sink: hub, Filter: output.All()}}, output.FanoutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := pipeline{metrics.PipelineStats{
		Records:      map[string]uint64{"process_exec": 10, "process_exit": 9},
		KernelLosses: []metrics.KernelLoss{{Reason: "ringbuf_full", Kind: "process_exec", Count: 2}, {Reason: "truncated", Kind: "process_exec", Count: 1}},
		Sensors:      []metrics.Sensor{{Name: "process", Mode: "full"}, {Name: "network", Mode: "off"}},
		Rules:        7,
	}}
	_, c := listen(t, Options{Version: "v1.2.3", Node: "n1", Pipeline: p, Outputs: f, Hub: hub})
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != "v1.2.3" || st.Node != "n1" || st.PID != os.Getpid() || st.Rules != 7 ||
		st.Events.Total != 19 || st.Drops.Kernel["ringbuf_full"] != 2 || st.Drops.Truncated != 1 ||
		len(st.Sensors) != 2 || st.Sensors[1].Mode != "off" || len(st.Outputs) != 1 || st.Outputs[0].Name != "api" {
		t.Errorf("status %+v", st)
	}
}

func TestClientErrorsSayWhatToDo(t *testing.T) {
	c := NewClient(filepath.Join(t.TempDir(), "none.sock"))
	_, err := c.Status(context.Background())
	if err == nil || !strings.Contains(err.Error(), "start one with `sudo vigil run`") {
		t.Errorf("no agent: %v", err)
	}
	_, c2 := listen(t, Options{})
	if _, err := c2.Events(context.Background(), StreamFilter{Events: true, MinSeverity: "urgent"}); err == nil ||
		!strings.Contains(err.Error(), `severity "urgent"`) {
		t.Errorf("bad filter: %v", err)
	}
	// the agent checks kinds too, for clients other than vigil events
	_, err = c2.Events(context.Background(), StreamFilter{Events: true, Kinds: []event.Kind{"proces_exec"}})
	for _, want := range []string{`unknown event kind "proces_exec"`, "did you mean process_exec?", "valid kinds: process_exec, process_exit,", "personality"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad kind: %v: want it to say %q", err, want)
		}
	}
}

func TestParseStreamFilter(t *testing.T) {
	f, err := ParseStreamFilter(map[string][]string{"rule": {"shell_*"}})
	if err != nil || f.Events || !f.Alerts {
		t.Errorf("rule filter %+v, %v: want alerts only", f, err)
	}
	for _, bad := range []map[string][]string{{"pid": {"x"}}, {"type": {"some"}}, {"colour": {"red"}}, {"binary": {"["}},
		{"kind": {"bogus"}}, {"kind": {"process_fork"}}, {"kind": {"alert"}}} {
		if _, err := ParseStreamFilter(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	in := StreamFilter{Alerts: true, Kinds: []event.Kind{"file_open"}, Rules: []string{"r"}, MinSeverity: "low",
		PIDs: []uint32{7}, Binaries: []string{"sh"}, Containers: []string{"host"}}
	out, err := ParseStreamFilter(in.Query())
	if err != nil || out.Events || !out.Alerts || out.PIDs[0] != 7 || out.Containers[0] != "host" || out.MinSeverity != "low" {
		t.Errorf("round trip %+v, %v", out, err)
	}
	ev := &event.Event{Kind: "file_open", Process: &event.Process{PID: 7, Binary: "/bin/sh"}}
	al := &event.Alert{Rule: event.RuleRef{Name: "r", Severity: "medium"}, Event: ev}
	if !out.Alert(al) || out.Event(ev) {
		t.Error("filter does not select what it should")
	}
}

func copyExecutable(t *testing.T, dst string) {
	t.Helper()
	src, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, raw, 0o755); err != nil {
		t.Fatal(err)
	}
}
