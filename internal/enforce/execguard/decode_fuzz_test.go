package execguard

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/event"
)

// The seeds in testdata/fuzz are records captured from the kernel by the
// kernel tests (go test -capture); go test runs them every time.

func fixedDecoder() Decoder {
	return Decoder{Clock: func(ns uint64) time.Time { return time.Unix(0, int64(ns)) }}
}

func FuzzDecode(f *testing.F) {
	enforcetest.FuzzDecoder(f, fixedDecoder().Decode, func(t *testing.T, ev *event.Event, _ []byte) {
		e := ev.Enforcement
		if ev.Kind != event.KindProcessExec || ev.Process == nil || e == nil || ev.Process.Executable == nil {
			t.Fatalf("decoded %+v", ev)
		}
		if e.PolicyID < 0 || e.PolicyID > 63 || (e.Action != event.ActionKilled && e.Action != event.ActionWouldKill) ||
			e.Mechanism != event.MechanismKernel {
			t.Fatalf("enforcement %+v", e)
		}
		if len(ev.Process.Filename) >= 512 {
			t.Fatalf("filename of %d bytes", len(ev.Process.Filename))
		}
		if (ev.File != nil) != (e.Hook == HookScript) {
			t.Fatalf("hook %s with file %+v", e.Hook, ev.File)
		}
	})
}

func FuzzDecodeHold(f *testing.F) {
	enforcetest.FuzzDecoder(f, DecodeHold, func(t *testing.T, h Hold, _ []byte) {
		if h.Policies == 0 || h.Key.Pad != 0 || len(h.Filename) >= 512 || h.NotHeld && !h.NotStopped {
			t.Fatalf("hold %+v", h)
		}
	})
}

// TestSeedsDecode: the captured seeds are records of the current layout,
// so they exercise the decoders' success paths (recapture with -capture
// after a layout change).
func TestSeedsDecode(t *testing.T) {
	for target, decode := range map[string]func([]byte) error{
		"FuzzDecode":     func(raw []byte) error { _, err := fixedDecoder().Decode(raw); return err },
		"FuzzDecodeHold": func(raw []byte) error { _, err := DecodeHold(raw); return err },
	} {
		for file, raw := range enforcetest.Seeds(t, target) {
			if err := decode(raw); err != nil {
				t.Errorf("%s: %v", file, err)
			}
		}
	}
}
