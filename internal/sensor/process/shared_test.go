package process

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestSharedDecodesTheSame: a decoder with shared tables decodes every
// seed record, captured or found by the fuzzer, into exactly the event a
// plain one makes, the first time and every time after; and a process
// decoded again shares the first one's strings and executable instead of
// holding copies.
func TestSharedDecodesTheSame(t *testing.T) {
	plain := fixedDecoder()
	shared := fixedDecoder()
	shared.Shared = NewShared()
	for _, target := range decodeTargets {
		dir := filepath.Join("testdata", "fuzz", target.fuzz)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("%s: %v", target.fuzz, err)
		}
		for _, e := range entries {
			name := filepath.Join(dir, e.Name())
			raw := readSeed(t, name)
			want, wantErr := target.decode(plain, raw)
			first, err1 := target.decode(shared, raw)
			again, err2 := target.decode(shared, raw)
			if (wantErr == nil) != (err1 == nil) || (wantErr == nil) != (err2 == nil) {
				t.Fatalf("%s: errors %v, %v, %v", name, wantErr, err1, err2)
			}
			if wantErr != nil {
				continue
			}
			if !reflect.DeepEqual(first, want) || !reflect.DeepEqual(again, want) {
				t.Fatalf("%s: shared decoding\n%+v\n%+v\nwant\n%+v", name, first.Process, again.Process, want.Process)
			}
			p, q := first.Process, again.Process
			for field, pair := range map[string][2]string{
				"comm": {p.Comm, q.Comm}, "binary": {p.Binary, q.Binary}, "cwd": {p.Cwd, q.Cwd},
				"cgroup": {p.Cgroup.Path, q.Cgroup.Path}, "filename": {p.Filename, q.Filename}, "tty": {p.TTY, q.TTY},
			} {
				if pair[0] != "" && len(pair[0]) <= sharedStringLen && unsafe.StringData(pair[0]) != unsafe.StringData(pair[1]) {
					t.Errorf("%s: %s %q decoded twice is two copies", name, field, pair[0])
				}
			}
			if p.Executable != nil && p.Executable != q.Executable {
				t.Errorf("%s: executable decoded twice is two copies", name)
			}
			if p.AUID != nil && p.AUID != q.AUID {
				t.Errorf("%s: auid decoded twice is two copies", name)
			}
		}
	}
}

// TestSharedIsBounded: tables full of values that never repeat start
// over instead of growing.
func TestSharedIsBounded(t *testing.T) {
	s := NewShared()
	for i := range 3 * sharedFiles {
		s.file(fileIDOf(uint64(i)))
		s.auid(uint32(i))
	}
	if len(s.files) > sharedFiles || len(s.auids) > sharedAUIDs {
		t.Fatalf("%d files, %d auids kept; want at most %d and %d", len(s.files), len(s.auids), sharedFiles, sharedAUIDs)
	}
	if s.auid(^uint32(0)) != nil {
		t.Error("an unset auid (-1) must stay nil")
	}
	var none *Shared
	if a, b := none.auid(7), none.auid(7); a == b || *a != 7 {
		t.Error("a nil Shared must hand out fresh values")
	}
}

func fileIDOf(ino uint64) event.FileID { return event.FileID{Dev: 1, Inode: ino} }
