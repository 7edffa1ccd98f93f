package internal_test

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

// kfuncsCalled is the kfuncs each committed object calls, by its folder
// under internal/: the "needed by" column of docs/architecture.md's kfunc
// table. A kfunc raises the kernel an object loads on (weak ones aside), so
// one that appears here must have been meant: the process and privilege
// sensors load without bpf_rdonly_cast (bpf/lib/path.bpf.h walks paths
// for them with bpf_probe_read_kernel).
var kfuncsCalled = map[string][]string{
	"enforce/execguard": {"bpf_send_signal_task", "bpf_task_from_pid", "bpf_task_release"},
	"enforce/fileguard": {"bpf_rdonly_cast"},
	"enforce/lsm":       nil,
	"enforce/modguard":  {"bpf_rdonly_cast"},
	"enforce/netguard":  nil,
	"enforce/pinned":    nil,
	"enforce/podscope":  nil,
	"enforce/xdpguard":  nil,
	"observe/cpu":       nil,
	"observe/io":        nil,
	"observe/memory":    nil,
	"observe/network":   nil,
	"observe/syscalls":  nil,
	"kernel":            {"bpf_iter_num_destroy", "bpf_iter_num_new", "bpf_iter_num_next", "bpf_rdonly_cast"},
	"ring":              nil,
	"sensor/file":       {"bpf_iter_num_destroy", "bpf_iter_num_new", "bpf_iter_num_next", "bpf_rdonly_cast"},
	"sensor/iouring":    {"bpf_rdonly_cast"},
	"sensor/network":    {"bpf_rdonly_cast"},
	"sensor/privilege":  {"bpf_task_from_pid", "bpf_task_from_vpid", "bpf_task_release"},
	"sensor/process":    nil,
	"wire":              nil,
}

// TestKfuncsCalled holds every committed BPF object to the kfuncs it is
// listed with.
func TestKfuncsCalled(t *testing.T) {
	seen := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_bpfel.o") {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		want, ok := kfuncsCalled[dir]
		if !ok {
			t.Errorf("%s: not in kfuncsCalled: list the kfuncs it calls (and in docs/architecture.md)", path)
			return nil
		}
		seen[dir] = true
		spec, err := ebpf.LoadCollectionSpec(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		var got []string
		for _, prog := range spec.Programs {
			for _, ins := range prog.Instructions {
				if ins.IsKfuncCall() && !slices.Contains(got, ins.Reference()) {
					got = append(got, ins.Reference())
				}
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s calls the kfuncs %q, want %q", path, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir := range kfuncsCalled {
		if !seen[dir] {
			t.Errorf("kfuncsCalled lists %s, which has no object", dir)
		}
	}
}
