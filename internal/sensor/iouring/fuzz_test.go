package iouring

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// The seed corpus in testdata/fuzz/FuzzDecode is real records captured
// from the kernel by the kernel tests: go test -capture.

func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := Decoder{}.Decode(raw)
		if err != nil {
			if !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if ev.Process == nil || ev.Syscall == nil {
			t.Fatalf("decoded %+v: want a process and a syscall", ev)
		}
		switch ev.Kind {
		case event.KindIOURingCreate:
		case event.KindFileOpen:
			if ev.File == nil || ev.Syscall.Via != Via {
				t.Fatalf("file_open %+v: want a file, via io_uring", ev)
			}
		case event.KindNetConnect:
			if ev.Network == nil || ev.Syscall.Via != Via {
				t.Fatalf("net_connect %+v: want a network, via io_uring", ev)
			}
		default:
			t.Fatalf("decoded kind %s", ev.Kind)
		}
		if (ev.Syscall.Ret < 0 && ev.Syscall.Ret >= -4095) != (ev.Syscall.Error != "") && ev.Kind != event.KindIOURingCreate {
			t.Fatalf("syscall %+v: an error name goes with a negative return", ev.Syscall)
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("marshal: %v", err)
		}
	})
}
