package file

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// The seed corpus in testdata/fuzz/FuzzDecodeFile is real records captured
// from the kernel by the kernel tests: go test -capture.

func FuzzDecodeFile(f *testing.F) {
	dec := Decoder{Clock: func(ns uint64) time.Time { return time.Unix(0, int64(ns)).UTC() }}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := dec.Decode(raw)
		if err != nil {
			if !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if w, ok := wire.Kind(ev.Kind); !ok || !ours(w) || ev.Process == nil || ev.File == nil || ev.Syscall == nil {
			t.Fatalf("decoded %+v: want a file kind with process, syscall and file", ev)
		}
		if (ev.Syscall.Ret < 0) != (ev.Syscall.Error != "") {
			t.Fatalf("syscall %+v: an error name goes with a negative return", ev.Syscall)
		}
		if ev.File.PathSource != "kernel" && ev.File.PathSource != "argument" {
			t.Fatalf("path source %q", ev.File.PathSource)
		}
		if ev.Kind == event.KindMemfdCreate && !strings.HasPrefix(ev.File.Path, "memfd:") {
			t.Fatalf("memfd path %q", ev.File.Path)
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("marshal: %v", err)
		}
	})
}
