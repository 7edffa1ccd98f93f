package file

import (
	"errors"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// record builds a file record as the kernel lays it out.
func rawRecord(info fileFileInfo, blob string) []byte {
	info.Hdr.Size = uint32(fileInfoSize + len(blob))
	raw := make([]byte, fileInfoSize, fileInfoSize+len(blob))
	copy(raw, unsafe.Slice((*byte)(unsafe.Pointer(&info)), fileInfoSize))
	return append(raw, blob...)
}

func wireKind(t *testing.T, k event.Kind) uint16 {
	t.Helper()
	w, ok := wire.Kind(k)
	if !ok {
		t.Fatalf("no wire kind for %s", k)
	}
	return w
}

func testDecoder() Decoder {
	return Decoder{Clock: func(ns uint64) time.Time { return time.Unix(0, int64(ns)).UTC() }}
}

func TestDecodeArgumentPathIsCleanedAndFlagged(t *testing.T) {
	var info fileFileInfo
	info.Hdr.Kind = wireKind(t, event.KindFileRename)
	info.Syscall = fileFileSyscallSYS_RENAMEAT2
	info.Ret = -13
	info.Flags = 1 // RENAME_NOREPLACE
	info.Info = fileFileFlagFILE_PATH_ARG | fileFileFlagFILE_PATH2ARG | fileFileFlagFILE_UNCLEAN
	blob := "\x00\x00\x00\x00/tmp/../etc/passwd\x00" // a key slot, then the path
	info.Path.Off, info.Path.Len = 4, uint16(len(blob)-4)
	blob += "\x00\x00\x00\x00/etc//passwd-\x00"
	info.Path2.Off, info.Path2.Len = uint16(len(blob)-len("/etc//passwd-\x00")), uint16(len("/etc//passwd-\x00"))

	ev, err := testDecoder().Decode(rawRecord(info, blob))
	if err != nil {
		t.Fatal(err)
	}
	f := ev.File
	if f.Path != "/etc/passwd" || f.NewPath != "/etc/passwd-" || f.PathSource != "argument" {
		t.Errorf("file %+v", f)
	}
	if ev.Syscall.Name != "renameat2" || ev.Syscall.Error != "EACCES" || !slices.Equal(f.Flags, []string{"RENAME_NOREPLACE"}) {
		t.Errorf("syscall %+v flags %v", ev.Syscall, f.Flags)
	}
}

func TestDecodeRejectsWhatTheKernelNeverWrites(t *testing.T) {
	var info fileFileInfo
	info.Hdr.Kind = wireKind(t, event.KindFileOpen)
	info.Syscall = fileFileSyscallSYS_OPENAT
	info.Path.Off, info.Path.Len = 0, 200 // past the blob
	for name, raw := range map[string][]byte{
		"short":           make([]byte, 10),
		"string overruns": rawRecord(info, "/etc"),
		"unknown syscall": rawRecord(fileFileInfo{Hdr: info.Hdr, Syscall: 99}, ""),
		"not a file kind": rawRecord(fileFileInfo{Syscall: fileFileSyscallSYS_OPENAT}, ""),
	} {
		if _, err := testDecoder().Decode(raw); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("%s: error %v, want ErrMalformed", name, err)
		}
	}
}

func TestDecodeProcLinkOpenNamesTheLink(t *testing.T) {
	var info fileFileInfo
	info.Hdr.Kind = wireKind(t, event.KindFileOpen)
	info.Syscall = fileFileSyscallSYS_OPENAT
	info.Ret = 5
	info.Flags = 1 // O_WRONLY
	info.Info = fileFileFlagFILE_INODE | fileFileFlagFILE_PROC_LINK
	blob := "\x00\x00\x00\x00/usr/sbin/runc\x00"
	info.Path.Off, info.Path.Len = 4, uint16(len(blob)-4)
	blob += "\x00\x00\x00\x00/proc/self/fd/3\x00"
	info.Path2.Off, info.Path2.Len = uint16(len(blob)-len("/proc/self/fd/3\x00")), uint16(len("/proc/self/fd/3\x00"))

	ev, err := testDecoder().Decode(rawRecord(info, blob))
	if err != nil {
		t.Fatal(err)
	}
	if f := ev.File; f.Path != "/usr/sbin/runc" || f.OpenedAs != "/proc/self/fd/3" || f.PathSource != "kernel" || f.NewPath != "" {
		t.Errorf("file %+v", f)
	}
}
