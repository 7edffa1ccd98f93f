package enforce

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/wire"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// stage is an Enforcer on a ring of its own, with the alerts its records
// make collected.
type stage struct {
	t    *testing.T
	dir  string
	ring *ring.Ring
	col  *enforcetest.Collector
	e    *Enforcer

	mu     sync.Mutex
	alerts []*event.Alert
}

func newStage(t *testing.T, dir string) *stage {
	t.Helper()
	r := enforcetest.NewRing(t, false)
	root, err := kernel.Cgroup2Root()
	if err != nil {
		t.Fatal(err)
	}
	clock := kernel.NewBootClock()
	e, err := New(Config{PinDir: dir, Cgroup2Root: root, Ring: r, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	s := &stage{t: t, dir: dir, ring: r, e: e, col: enforcetest.Collect(t, r)}
	decoders := e.Decoders()
	s.col.OnRecord = func(raw []byte) bool {
		h, _ := wire.ParseHeader(raw)
		if h.Kind == wire.ExecHold {
			e.Hold(raw)
			return false
		}
		if d := decoders[h.Kind]; d != nil {
			ev, err := d(raw)
			if err != nil {
				t.Errorf("decode kind %d: %v", h.Kind, err)
				return false
			}
			s.add(e.Describe(ev))
		}
		return false
	}
	s.col.OnIdle = func() {
		for {
			select {
			case al := <-e.Alerts():
				s.add(al)
			default:
				e.Tick(time.Now())
				return
			}
		}
	}
	s.col.Start()
	t.Cleanup(s.close)
	return s
}

func (s *stage) add(al *event.Alert) {
	s.mu.Lock()
	s.alerts = append(s.alerts, al)
	s.mu.Unlock()
}

// close stops the stage like a stopped agent: descriptors closed, pins kept.
func (s *stage) close() {
	if s.e == nil {
		return
	}
	s.e.Close()
	s.e = nil
	s.col.Stop()
	s.ring.Close()
}

// waitAlert waits for an alert about pid.
func (s *stage) waitAlert(pid int) *event.Alert {
	s.t.Helper()
	deadline := time.Now().Add(testenv.WaitLimit)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, al := range s.alerts {
			if al.Event != nil && al.Event.Process != nil && int(al.Event.Process.PID) == pid {
				s.mu.Unlock()
				return al
			}
		}
		s.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Fatalf("no alert about pid %d", pid)
	return nil
}

// inCgroup runs name args… in the cgroup to its end.
func inCgroup(t *testing.T, cg testenv.Cgroup, name string, args ...string) enforcetest.Result {
	t.Helper()
	return enforcetest.Run(t, enforcetest.InCgroup(exec.Command(name, args...), cg))
}

// TestPoliciesEndToEnd applies a policy scoped to a test cgroup through
// the Enforcer and checks each part acts, reports under the policy's and
// the entry's names, survives a restart on the same pin directory (the
// numbers and entries adopted), and that removing the policy lifts it.
func TestPoliciesEndToEnd(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)

	bin := enforcetest.CopyFile(t, "/bin/true", filepath.Join(t.TempDir(), "forbidden"))
	port := enforcetest.ListenTCP(t, "127.0.0.1:0").Port()
	dial := "exec 3<>/dev/tcp/127.0.0.1/" + itoa(uint32(port))

	p := policy.Policy{Name: "lock-test", Mode: policy.Enforce, Severity: event.SeverityCritical, Tags: []string{"T1059"},
		Scope: policy.Scope{Cgroup: cg.Path}, Source: "test",
		Exec:    policy.Exec{Deny: []policy.PathRule{{Entry: policy.Entry{Name: "no-forbidden"}, Path: bin}}},
		Connect: []policy.NetRule{{Entry: policy.Entry{Name: "no-port"}, Prefix: netip.MustParsePrefix("127.0.0.0/8"), Ports: []uint16{port}, Protocol: "tcp"}}}

	s := newStage(t, dir)
	if err := s.e.Set(OriginFile, []policy.Policy{p}); err != nil {
		t.Fatal(err)
	}

	r := inCgroup(t, cg, bin)
	if !r.Killed {
		t.Fatalf("denied binary in scope: %v, want SIGKILL", r)
	}
	al := s.waitAlert(r.PID)
	if al.Rule.Name != "lock-test" || al.Rule.Severity != event.SeverityCritical || al.Action != event.ActionKilled ||
		al.Event.Enforcement.Rule != "no-forbidden" || len(al.Rule.MITRE) != 1 || !strings.Contains(al.Message, "no-forbidden") {
		t.Errorf("exec alert = %+v, enforcement %+v", al, al.Event.Enforcement)
	}
	if err := exec.Command(bin).Run(); err != nil {
		t.Errorf("denied binary outside the scope: %v, want it to run", err)
	}

	r = inCgroup(t, cg, "bash", "-c", dial)
	if r.Success() || !strings.Contains(r.Out, "Operation not permitted") {
		t.Fatalf("connect in scope: %v, want EPERM", r)
	}
	al = s.waitAlert(r.PID)
	if al.Action != event.ActionDenied || al.Event.Enforcement.Rule != "no-port" || al.Event.Network.DPort != port {
		t.Errorf("connect alert = %+v, enforcement %+v", al, al.Event.Enforcement)
	}
	if out, err := exec.Command("bash", "-c", dial).CombinedOutput(); err != nil {
		t.Errorf("connect outside the scope: %v %s", err, out)
	}

	// a restarted agent: same pins, no policies given yet; the kernel
	// still enforces, the numbers are adopted
	s.close()
	if r := inCgroup(t, cg, bin); !r.Killed {
		t.Fatalf("with no agent: %v, want SIGKILL from the pinned program", r)
	}
	s = newStage(t, dir)
	if a := s.e.Adopted(); len(a) != 1 || a[0] != "lock-test" {
		t.Errorf("adopted %v, want [lock-test]", a)
	}
	if err := s.e.Set(OriginFile, []policy.Policy{p}); err != nil {
		t.Fatal(err)
	}
	st := s.e.Policies()
	if len(st) != 1 || st[0].Hits[event.ActionKilled] < 2 || st[0].Hits[event.ActionDenied] < 1 || st[0].Entries["exec"] != 1 {
		t.Errorf("status after restart = %+v", st)
	}

	removed, err := s.e.Remove(nil)
	if err != nil || len(removed) != 1 {
		t.Fatalf("remove: %v %v", removed, err)
	}
	if r := inCgroup(t, cg, bin); !r.Success() {
		t.Errorf("after remove: %v, want it to run", r)
	}
	if r := inCgroup(t, cg, "bash", "-c", dial); !r.Success() {
		t.Errorf("connect after remove: %v", r)
	}
}

// TestHashAndFilePolicies: a copy of a denied binary is caught by its
// SHA-256 on its first exec (held, hashed, killed) and by its inode after;
// a protected file's writer is killed; a clean binary under the hash
// policy runs.
func TestHashAndFilePolicies(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	tmp := t.TempDir()

	raw, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256Hex(raw)
	copyOf := enforcetest.CopyFile(t, "/bin/true", filepath.Join(tmp, "renamed-true"))
	clean := enforcetest.CopyFile(t, "/bin/echo", filepath.Join(tmp, "clean"))
	secret := filepath.Join(tmp, "secret")
	if err := os.WriteFile(secret, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}

	p := policy.Policy{Name: "hash-test", Mode: policy.Enforce, Scope: policy.Scope{Cgroup: cg.Path}, Source: "test",
		Exec:  policy.Exec{DenySHA256: []policy.HashRule{{Entry: policy.Entry{Name: "true-by-hash"}, SHA256: sum}}, HoldUnknown: true},
		Files: []policy.FileRule{{Entry: policy.Entry{Name: "secret"}, Path: secret, Access: policy.AccessWrite}}}
	s := newStage(t, dir)
	if err := s.e.Set(OriginApplied, []policy.Policy{p}); err != nil {
		t.Fatal(err)
	}

	r := inCgroup(t, cg, copyOf)
	if !r.Killed {
		t.Fatalf("copy of a denied binary: %v, want SIGKILL", r)
	}
	al := s.waitAlert(r.PID)
	if al.Action != event.ActionKilled || al.Event.Enforcement.Rule != "true-by-hash" || !strings.Contains(al.Event.Enforcement.Hook, "held") {
		t.Errorf("hash alert = %+v, enforcement %+v", al, al.Event.Enforcement)
	}
	r = inCgroup(t, cg, copyOf)
	if !r.Killed {
		t.Fatalf("second exec of the copy: %v, want SIGKILL", r)
	}
	al = s.waitAlert(r.PID)
	if strings.Contains(al.Event.Enforcement.Hook, "held") || al.Event.Enforcement.Rule != "true-by-hash" {
		t.Errorf("second exec was not killed by inode: %+v", al.Event.Enforcement)
	}
	if r := inCgroup(t, cg, clean, "ok"); !r.Success() || r.Out != "ok\n" {
		t.Errorf("clean binary under the hash policy: %v", r)
	}

	r = inCgroup(t, cg, "bash", "-c", "echo gone > "+secret)
	if !r.Killed {
		t.Fatalf("writer of a protected file: %v, want SIGKILL", r)
	}
	al = s.waitAlert(r.PID)
	if al.Event.Kind != event.KindFileOpen || al.Event.Enforcement.Rule != "secret" || al.Event.File.Path != secret {
		t.Errorf("file alert = %+v, %+v", al.Event.File, al.Event.Enforcement)
	}
	// the documented side effect: O_TRUNC emptied it before the kill
	if got, _ := os.ReadFile(secret); len(got) != 0 {
		t.Errorf("protected file holds %q after the killed truncating open; the docs say it is emptied", got)
	}
	if r := inCgroup(t, cg, "cat", secret); !r.Success() {
		t.Errorf("reader of a write-protected file: %v", r)
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestUnneededGuardsAreUnloaded: the file and module guards, whose hooks
// cost every open and every system call, are attached while a policy
// needs them and detached (their pins removed) once none does.
func TestUnneededGuardsAreUnloaded(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newStage(t, dir)
	owned := func(mech string) int {
		names, err := pinned.Links(dir)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, name := range names {
			if linkOwner(name) == mech {
				n++
			}
		}
		return n
	}
	full := policy.Policy{Name: "guards", Mode: policy.Enforce, Scope: policy.Scope{Cgroup: cg.Path}, Source: "test",
		Files:   []policy.FileRule{{Entry: policy.Entry{Name: "secret"}, Path: secret, Access: policy.AccessWrite}},
		Modules: &policy.ModuleRule{}}
	if err := s.e.Set(OriginFile, []policy.Policy{full}); err != nil {
		t.Fatal(err)
	}
	if owned(MechFile) == 0 || owned(MechModules) == 0 {
		t.Fatalf("links pinned: files %d, modules %d; want both guards attached", owned(MechFile), owned(MechModules))
	}
	lean := full
	lean.Files, lean.Modules = nil, nil
	lean.Connect = []policy.NetRule{{Entry: policy.Entry{Name: "x"}, Ports: []uint16{9}}}
	if err := s.e.Set(OriginFile, []policy.Policy{lean}); err != nil {
		t.Fatal(err)
	}
	if owned(MechFile) != 0 || owned(MechModules) != 0 {
		t.Errorf("links pinned after the last file and module rule went: files %d, modules %d", owned(MechFile), owned(MechModules))
	}
	if r := inCgroup(t, cg, "bash", "-c", "echo y > "+secret); !r.Success() {
		t.Errorf("writing the once protected file: %+v", r)
	}
}
