package process

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// The seeds in testdata/fuzz are records captured from the kernel
// (go test -run 'Record|Flagged' -capture); go test runs them every time.

func fixedDecoder() Decoder {
	return Decoder{Clock: func(ns uint64) time.Time { return time.Unix(0, int64(ns)) }}
}

// decodeTargets are the fuzz targets: each decoder with the properties
// every event it returns must have.
var decodeTargets = []struct {
	fuzz   string
	kind   event.Kind
	wire   uint16
	decode func(Decoder, []byte) (*event.Event, error)
	check  func(*testing.T, *event.Event)
}{
	{"FuzzDecodeExec", event.KindProcessExec, wire.ProcessExec, Decoder.Exec, checkExec},
	{"FuzzDecodeExit", event.KindProcessExit, wire.ProcessExit, Decoder.Exit, checkExit},
	{"FuzzDecodeFork", event.KindProcessFork, wire.ProcessFork, Decoder.Fork, func(*testing.T, *event.Event) {}},
	{"FuzzDecodeRename", event.KindProcessRename, wire.ProcessRename, Decoder.Rename, func(*testing.T, *event.Event) {}},
	{"FuzzDecodeSignal", event.KindProcessSignal, wire.ProcessSignal, Decoder.Signal, checkSignal},
}

func fuzzDecode(f *testing.F, i int) {
	target, d, shared := decodeTargets[i], fixedDecoder(), fixedDecoder()
	shared.Shared = NewShared()
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := target.decode(d, raw)
		if same, err2 := target.decode(shared, raw); (err == nil) != (err2 == nil) || err == nil && !reflect.DeepEqual(same, ev) {
			t.Fatalf("shared tables decode %+v (%v), a plain decoder %+v (%v)", same, err2, ev, err)
		}
		if err != nil {
			return
		}
		checkEvent(t, ev, target.kind)
		target.check(t, ev)
	})
}

func FuzzDecodeExec(f *testing.F)   { fuzzDecode(f, 0) }
func FuzzDecodeExit(f *testing.F)   { fuzzDecode(f, 1) }
func FuzzDecodeFork(f *testing.F)   { fuzzDecode(f, 2) }
func FuzzDecodeRename(f *testing.F) { fuzzDecode(f, 3) }
func FuzzDecodeSignal(f *testing.F) { fuzzDecode(f, 4) }

func checkSignal(t *testing.T, ev *event.Event) {
	t.Helper()
	if ev.Target == nil || ev.Syscall == nil {
		t.Fatalf("a signal event needs its target and syscall: %+v", ev)
	}
	if b := ev.Target.Binary; b != "" && b[0] != '/' {
		t.Fatalf("target binary must be absolute: %q", b)
	}
}

func checkExec(t *testing.T, ev *event.Event) {
	t.Helper()
	p := ev.Process
	if p.Binary == "" || p.Binary[0] != '/' || p.Cwd == "" || p.Cwd[0] != '/' {
		t.Fatalf("paths must be absolute: binary %q cwd %q", p.Binary, p.Cwd)
	}
	if p.Args == nil {
		t.Fatal("args must be an array, even when empty")
	}
}

func checkExit(t *testing.T, ev *event.Event) {
	t.Helper()
	if x := ev.Exit; x == nil || x.DurationNS < 0 || x.Code < 0 || x.Code > 255 || x.Signal < 0 || x.Signal > 127 {
		t.Fatalf("exit out of range: %+v", ev.Exit)
	}
}

// TestFuzzSeedsDecode: the fuzz targets skip inputs that do not decode, so
// a seed made stale by a change of the record layout would pass them
// unnoticed. Every committed seed must decode; the ones captured from the
// kernel (named after the test that captured them) must also be whole
// records of their kind, as the agent's dispatcher checks them. After a
// layout change, capture them again: go test -run 'Record|Flagged' -capture.
func TestFuzzSeedsDecode(t *testing.T) {
	d := fixedDecoder()
	for _, target := range decodeTargets {
		dir := filepath.Join("testdata", "fuzz", target.fuzz)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("%s: %v", target.fuzz, err)
		}
		captured := 0
		for _, e := range entries {
			name := filepath.Join(dir, e.Name())
			raw := readSeed(t, name)
			ev, err := target.decode(d, raw)
			if err != nil {
				t.Errorf("%s does not decode: %v", name, err)
				continue
			}
			checkEvent(t, ev, target.kind)
			target.check(t, ev)
			if !strings.HasPrefix(e.Name(), "Test") {
				continue // found by the fuzzer: any bytes
			}
			captured++
			h, err := wire.ParseHeader(raw)
			if err != nil || h.Kind != target.wire {
				t.Errorf("%s: header %+v (%v), want a whole %s record", name, h, err, target.kind)
			}
		}
		if captured == 0 {
			t.Errorf("%s has no seed captured from the kernel", dir)
		}
	}
}

// readSeed reads a corpus file of one []byte value, as go test writes them.
func readSeed(t *testing.T, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	header, value, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	quoted, ok := strings.CutPrefix(value, "[]byte(")
	if header != "go test fuzz v1" || !ok || !strings.HasSuffix(quoted, ")") {
		t.Fatalf("%s is not a go test fuzz v1 file of one []byte", name)
	}
	raw, err := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return []byte(raw)
}

func checkEvent(t *testing.T, ev *event.Event, kind event.Kind) {
	t.Helper()
	if ev.Kind != kind || ev.Process == nil {
		t.Fatalf("decoded %q with process %v, want %q with a process", ev.Kind, ev.Process, kind)
	}
	if len(ev.Process.Comm) > 16 {
		t.Fatalf("comm longer than the kernel's 16 bytes: %q", ev.Process.Comm)
	}
}
