package event

import (
	"encoding/json"
	"io"
	"testing"
	"time"
)

func sampleProcess(pid uint32, binary string) *Process {
	auid := uint32(1000)
	return &Process{
		PID: pid, TID: pid, PPID: pid - 1, UID: 1000, EUID: 1000, GID: 1000, EGID: 1000, AUID: &auid,
		Comm: "bash", Binary: binary, Filename: binary,
		Args: []string{binary, "-c", "for f in *.go; do gofmt -l $f; done", "--verbose"},
		Cwd:  "/home/dev/src/github.com/vigil-sec/vigil", TTY: "pts/3",
		ExecID: "dm06OTc3NzoxNzk1NzEwMTgwODA1NDk3MDAw", ParentExecID: "dm06OTc2NzoxNzk1NzEwMTgwODA0OTEyMDAw",
		StartTime:  time.Unix(1795710180, 804912000).UTC(),
		Executable: &FileID{Dev: 254, Inode: 1312, Mode: 0o100755, Size: 1234376, Mtime: time.Unix(1700000000, 0).UTC()},
		Cgroup:     Cgroup{ID: 1, Path: "/user.slice/user-1000.slice/session-2.scope"},
		Namespaces: Namespaces{PID: 4026531836, Mnt: 4026531832, Net: 4026531833},
		Container:  &Container{ID: HostContainerID, Runtime: "host"},
	}
}

// BenchmarkEncodeExitEvent is the common case the cache is for: an event
// whose process and parent were published (and encoded) before.
func BenchmarkEncodeExitEvent(b *testing.B) {
	for _, sealed := range []bool{false, true} {
		name := "uncached"
		if sealed {
			name = "sealed"
		}
		b.Run(name, func(b *testing.B) {
			p, parent := sampleProcess(100, "/usr/bin/make"), sampleProcess(99, "/usr/bin/bash")
			if sealed {
				p.Seal()
				parent.Seal()
			}
			ev := &Event{Time: time.Now(), Kind: KindProcessExit, Node: "node-1", Process: p, Parent: parent,
				Ancestors: []Ancestor{{PID: 1, Binary: "/sbin/init", ExecID: "aW5pdA"}},
				Exit:      &Exit{Code: 0, DurationNS: 123456}}
			enc := json.NewEncoder(io.Discard)
			b.ReportAllocs()
			for b.Loop() {
				if err := enc.Encode(ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("sealed-append", func(b *testing.B) {
		p, parent := sampleProcess(100, "/usr/bin/make"), sampleProcess(99, "/usr/bin/bash")
		p.Seal()
		parent.Seal()
		ev := &Event{Time: time.Now(), Kind: KindProcessExit, Node: "node-1", Process: p, Parent: parent,
			Ancestors: []Ancestor{{PID: 1, Binary: "/sbin/init", ExecID: "aW5pdA"}},
			Exit:      &Exit{Code: 0, DurationNS: 123456}}
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, err = ev.AppendJSON(buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
