package syscalls

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// BenchmarkGetppid is the cost the recorder adds to every system call: a
// getppid loop with nothing of ours attached, then with the recorder
// attached for a cgroup this process is outside of, then inside it. Run
// with -count to alternate the three in one run:
//
//	go test -run '^$' -bench Getppid -count 6 ./internal/observe/syscalls/
func BenchmarkGetppid(b *testing.B) {
	testenv.RequirePrivileged(b)
	loop := func(b *testing.B) {
		for b.Loop() {
			unix.RawSyscall(nrGetppid, 0, 0, 0)
		}
	}
	b.Run("detached", loop)

	cg := testenv.NewCgroup(b)
	rec, err := Open()
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close()
	id, err := kernel.CgroupID(cg.Path)
	if err != nil {
		b.Fatal(err)
	}
	level, err := kernel.CgroupLevel(cg.Root, cg.Path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := rec.Record(id, level); err != nil {
		b.Fatal(err)
	}
	b.Run("attached-outside", loop)

	back := moveSelf(b, cg.Root, cg.Path)
	b.Run("attached-inside", loop)
	moveSelf(b, cg.Root, back)
}

// moveSelf moves this process into the cgroup v2 directory dir and
// returns the directory it was in.
func moveSelf(b *testing.B, root, dir string) string {
	raw, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		b.Fatal(err)
	}
	from := root
	for _, line := range strings.Split(string(raw), "\n") {
		if rel, ok := strings.CutPrefix(line, "0::"); ok {
			from = filepath.Join(root, rel)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
		b.Fatal(err)
	}
	return from
}
