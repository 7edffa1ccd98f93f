package privilege

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/privilege/privtest"
	"github.com/vigil-sec/vigil/internal/sensor/sensortest"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/wire"
)

func TestMain(m *testing.M) {
	privtest.RunIfHelper()
	testenv.Main(m)
}

// session is the sensor running on a ring of its own; the test's own
// process is not exempt.
type session struct {
	*sensortest.Watcher
	t      *testing.T
	ring   *ring.Ring
	sensor *Sensor
}

func startSession(t *testing.T, scope ring.Scope, opts Options) *session {
	t.Helper()
	s, w := sensortest.Start(t, sensortest.Options{Ring: ring.Config{Scope: scope}}, func(r *ring.Ring) (*Sensor, error) {
		return Load(r, opts)
	})
	return &session{Watcher: w, t: t, ring: w.Ring(), sensor: s}
}

// stop detaches the sensor and drains the ring; the records stay.
func (s *session) stop() { s.Stop() }

// record is one decoded record with its bytes.
type record struct {
	ev  *event.Event
	raw []byte
}

// of stops the session and returns the records of pid, decoded, in order.
func (s *session) of(pid int) []record {
	s.t.Helper()
	s.stop()
	d := testDecoder(s.t)
	var out []record
	for _, raw := range s.Raws() {
		h, err := wire.ParseHeader(raw)
		if err != nil {
			s.t.Fatalf("record does not parse: %v", err)
		}
		if h.Pid != uint32(pid) {
			continue
		}
		ev, err := d.Decode(raw)
		if err != nil {
			s.t.Fatalf("record does not decode: %v\n%q", err, raw)
		}
		out = append(out, record{ev, raw})
	}
	return out
}

func testDecoder(t *testing.T) *Decoder {
	names, err := KernelBPFNames()
	if err != nil {
		t.Fatalf("bpf names: %v", err)
	}
	return NewDecoder(kernel.NewBootClock().Time, names)
}

// helper runs a privtest action to its end and returns its pid and output.
func helper(t *testing.T, action string, args ...string) (int, string) {
	t.Helper()
	cmd, err := privtest.Command(action, args...)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper %s %q: %v", action, args, err)
	}
	return cmd.Process.Pid, strings.TrimSpace(out.String())
}

// only returns the records of kind, failing the test unless there are want.
func only(t *testing.T, recs []record, kind event.Kind, want int) []record {
	t.Helper()
	var out []record
	for _, r := range recs {
		if r.ev.Kind == kind {
			out = append(out, r)
		}
	}
	if len(out) != want {
		t.Fatalf("%d %s records, want %d; all: %s", len(out), kind, want, describe(recs))
	}
	return out
}

func describe(recs []record) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "\n  %s %+v", r.ev.Kind, *r.ev.Syscall)
	}
	return b.String()
}

// wantSyscall checks the call's name, return value and integer arguments.
func wantSyscall(t *testing.T, ev *event.Event, name string, ret int64, args ...int64) {
	t.Helper()
	sc := ev.Syscall
	if sc == nil || sc.Name != name || sc.Ret != ret {
		t.Errorf("syscall = %+v, want %s returning %d", sc, name, ret)
		return
	}
	if args != nil && fmt.Sprint(sc.Args) != fmt.Sprint(args) {
		t.Errorf("%s args = %v, want %v", name, sc.Args, args)
	}
}

// seed stores a real record as a fuzz seed when -capture is given.
func seed(t *testing.T, raw []byte) {
	h, _ := wire.ParseHeader(raw)
	name := fmt.Sprintf("%s-%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), wire.KindName(h.Kind), len(raw))
	sensortest.Seed(t, "FuzzDecode", name, raw)
}
