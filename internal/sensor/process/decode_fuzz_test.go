package process

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// The seeds in testdata/fuzz are records captured from the kernel
// (go test -run 'Record|Flagged' -capture); go test runs them every time.

func fixedDecoder() Decoder {
	return Decoder{Time: func(ns uint64) time.Time { return time.Unix(0, int64(ns)) }}
}

func FuzzDecodeExec(f *testing.F) {
	d := fixedDecoder()
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := d.Exec(raw)
		if err != nil {
			return
		}
		checkEvent(t, ev, event.KindProcessExec)
		p := ev.Process
		if p.Binary == "" || p.Binary[0] != '/' || p.Cwd == "" || p.Cwd[0] != '/' {
			t.Fatalf("paths must be absolute: binary %q cwd %q", p.Binary, p.Cwd)
		}
		if p.Args == nil {
			t.Fatal("args must be an array, even when empty")
		}
	})
}

func FuzzDecodeExit(f *testing.F) {
	d := fixedDecoder()
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := d.Exit(raw)
		if err != nil {
			return
		}
		checkEvent(t, ev, event.KindProcessExit)
		if x := ev.Exit; x == nil || x.DurationNS < 0 || x.Code < 0 || x.Code > 255 || x.Signal < 0 || x.Signal > 127 {
			t.Fatalf("exit out of range: %+v", ev.Exit)
		}
	})
}

func FuzzDecodeFork(f *testing.F) {
	d := fixedDecoder()
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := d.Fork(raw)
		if err != nil {
			return
		}
		checkEvent(t, ev, event.KindProcessFork)
	})
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
