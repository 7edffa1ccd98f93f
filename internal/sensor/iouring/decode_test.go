package iouring

import (
	"errors"
	"slices"
	"testing"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// rawRecord builds a record as the kernel lays it out.
func rawRecord(kind uint16, info iouringIouInfo, blob string) []byte {
	info.Hdr.Kind = kind
	info.Hdr.Size = uint32(infoSize + len(blob))
	raw := make([]byte, infoSize, infoSize+len(blob))
	copy(raw, unsafe.Slice((*byte)(unsafe.Pointer(&info)), infoSize))
	return append(raw, blob...)
}

func TestDecodeOpenIsAFileOpenViaIOURing(t *testing.T) {
	var info iouringIouInfo
	info.Opcode = iouringIouOpIOU_OP_OPENAT2
	info.Res = 7
	info.OpenFlags = 0o2000000 | 0o100 | 1 // O_CLOEXEC|O_CREAT|O_WRONLY
	info.Mode = 0o600
	info.Info = iouringIouFlagIOU_INODE | iouringIouFlagIOU_PATH_CUT
	info.Ino, info.Dev = 42, 8<<20|1
	leafFirst := "shadow\x00etc\x00"
	info.Path.Len = uint16(len(leafFirst))
	ev, err := Decoder{}.Decode(rawRecord(wire.IOURingOpen, info, leafFirst))
	if err != nil {
		t.Fatal(err)
	}
	f, sc := ev.File, ev.Syscall
	if ev.Kind != event.KindFileOpen || f.Path != "/etc/shadow" || f.Inode != 42 || f.Dev != 8<<20|1 || f.Mode != 0o600 ||
		!slices.Equal(f.Truncated, []string{"path"}) || !slices.Contains(f.Flags, "O_CREAT") {
		t.Errorf("event %s file %+v", ev.Kind, *f)
	}
	if sc.Name != "openat2" || sc.Ret != 7 || sc.Via != "io_uring" {
		t.Errorf("syscall %+v", *sc)
	}
}

func TestDecodeRejectsMalformedRecords(t *testing.T) {
	var open iouringIouInfo
	open.Opcode = iouringIouOpIOU_OP_CONNECT // not an open
	var cut iouringIouInfo
	cut.Opcode = iouringIouOpIOU_OP_OPENAT
	cut.Path.Off, cut.Path.Len = 4, 100 // past the blob
	for name, raw := range map[string][]byte{
		"short":             rawRecord(wire.IOURingOpen, open, "")[:20],
		"open of a connect": rawRecord(wire.IOURingOpen, open, ""),
		"path past blob":    rawRecord(wire.IOURingOpen, cut, "etc\x00"),
		"not ours":          rawRecord(wire.ProcessExec, cut, ""),
		"create with blob":  rawRecord(wire.IOURingCreate, open, "x"),
	} {
		if _, err := (Decoder{}).Decode(raw); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", name, err)
		}
	}
}
