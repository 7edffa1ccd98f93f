package privilege

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// errnoRet is the return value a helper's printed outcome stands for.
func errnoRet(t *testing.T, out string) int64 {
	t.Helper()
	if out == "ok" {
		return 0
	}
	for e := unix.Errno(1); e < 4096; e++ {
		if unix.ErrnoName(e) == out {
			return -int64(e)
		}
	}
	t.Fatalf("helper printed %q, want ok or an errno name", out)
	return 0
}

// TestModuleCalls: init_module with an image that is no module,
// finit_module of a file, delete_module of a name. On a kernel without
// module support every call fails with ENOSYS and is watched by the
// dispatcher; each is reported with its outcome and what it named.
func TestModuleCalls(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{MissingSyscalls: true})
	file := filepath.Join(t.TempDir(), "vigil-test.ko")
	if err := os.WriteFile(file, []byte("not a module"), 0o644); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("vigil_%d", os.Getpid())
	initPid, initOut := helper(t, "init-module")
	finitPid, finitOut := helper(t, "finit-module", file)
	delPid, delOut := helper(t, "delete-module", name)
	t.Logf("init_module: %s, finit_module: %s, delete_module: %s; status %+v", initOut, finitOut, delOut, s.sensor.Status())
	if why := s.sensor.Degraded(); why != "" {
		t.Errorf("degraded: %s", why)
	}

	initEv := only(t, s.of(initPid), event.KindModuleLoad, 1)[0]
	wantSyscall(t, initEv.ev, "init_module", errnoRet(t, initOut), int64(len("\x7fELF vigil test: not a module")))
	if m := initEv.ev.Module; m == nil || m.Name != "" || m.Path != "" {
		t.Errorf("module = %+v, want nothing named for an image that was never loaded", m)
	}
	finit := only(t, s.of(finitPid), event.KindModuleLoad, 1)[0]
	wantSyscall(t, finit.ev, "finit_module", errnoRet(t, finitOut))
	if m := finit.ev.Module; m.Path != file {
		t.Errorf("module path = %q, want %s", m.Path, file)
	}
	del := only(t, s.of(delPid), event.KindModuleUnload, 1)[0]
	wantSyscall(t, del.ev, "delete_module", errnoRet(t, delOut), unix.O_NONBLOCK)
	if m := del.ev.Module; m.Name != name {
		t.Errorf("module name = %q, want %s", m.Name, name)
	}
	for _, r := range []record{initEv, finit, del} {
		seed(t, r.raw)
	}
}

// TestMissingSyscallsNeedTheDispatcher: without the dispatcher, a call the
// kernel has no tracepoint for is not watched, and Status says so.
func TestMissingSyscallsNeedTheDispatcher(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{})
	st := s.sensor.Status()
	if len(st.Dispatched) != 0 {
		t.Fatalf("dispatched %v without MissingSyscalls", st.Dispatched)
	}
	progs := s.sensor.Programs()
	if progs[privilegeProgOnEnter] == nil || progs[privilegeProgDispatchEnter] != nil {
		t.Errorf("programs %v, want the tracepoint programs and no dispatcher", progs)
	}
	if why := s.sensor.Degraded(); why != "" {
		t.Errorf("degraded %q: calls left to a dispatcher nobody asked for are no degradation", why)
	}
	if !slices.Contains(st.Unwatched, "init_module") {
		if !slices.Contains(st.Tracepoints, "init_module") {
			t.Fatalf("init_module neither watched nor unwatched: %+v", st)
		}
		t.Skip("this kernel has module support: init_module has its own tracepoint")
	}
	pid, _ := helper(t, "init-module")
	if recs := s.of(pid); len(recs) != 0 {
		t.Errorf("an unwatched call was reported: %s", describe(recs))
	}
}

// TestBPFLoad: a child loads a socket filter and a cgroup_skb program and
// links the latter to a test cgroup. The loads and the link are reported
// with the programs' names and types; vigil's own loads are not.
func TestBPFLoad(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{})
	cg := testenv.NewCgroup(t)
	name := fmt.Sprintf("vigil_%d", time.Now().UnixNano()%1e6)
	pid, _ := helper(t, "bpf-load", name, cg.Path)
	// cilium/ebpf probes the kernel with loads of its own first
	var recs []record
	for _, r := range s.of(pid) {
		if r.ev.Kind == event.KindBPFLoad {
			recs = append(recs, r)
		}
	}

	var filter, skb, link *event.Event
	for _, r := range recs {
		b := r.ev.BPF
		switch {
		case b.Command == "BPF_PROG_LOAD" && b.ProgName == name:
			filter = r.ev
			seed(t, r.raw)
		case b.Command == "BPF_PROG_LOAD" && b.ProgName == name+"_cg":
			skb = r.ev
		case b.Command == "BPF_LINK_CREATE" || b.Command == "BPF_PROG_ATTACH":
			link = r.ev
			seed(t, r.raw)
		}
	}
	if filter == nil || skb == nil || link == nil {
		t.Fatalf("want the two loads and the attach among: %s", describe(recs))
	}
	if b := filter.BPF; b.ProgType != "socket_filter" || b.Insns != 2 || b.AttachType != "" || filter.Syscall.Ret < 0 {
		t.Errorf("socket filter load = %+v (ret %d), want socket_filter, 2 insns, no attach type", b, filter.Syscall.Ret)
	}
	// its expected attach type is cgroup_inet_ingress, which is 0: a
	// load's 0 is not reported, as it also means "none"
	if b := skb.BPF; b.ProgType != "cgroup_skb" || b.AttachType != "" {
		t.Errorf("cgroup_skb load = %+v, want cgroup_skb", b)
	}
	if b := link.BPF; b.ProgName != name+"_cg" || b.ProgType != "cgroup_skb" || b.AttachType != "cgroup_inet_ingress" || link.Syscall.Ret < 0 {
		t.Errorf("attach = %+v (ret %d), want %s_cg, cgroup_skb at cgroup_inet_ingress", b, link.Syscall.Ret, name)
	}
}

// TestKexecLoad: refused either way (too many segments, no file), and
// reported with the refusal.
func TestKexecLoad(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{MissingSyscalls: true})
	pid, out := helper(t, "kexec-load")
	filePid, fileOut := helper(t, "kexec-file-load")
	ev := only(t, s.of(pid), event.KindKexecLoad, 1)[0]
	wantSyscall(t, ev.ev, "kexec_load", errnoRet(t, out), 0, 1000, 0)
	file := only(t, s.of(filePid), event.KindKexecLoad, 1)[0]
	wantSyscall(t, file.ev, "kexec_file_load", errnoRet(t, fileOut), -1, -1, 0, 0)
	if ev.ev.Syscall.Error == "" || file.ev.Syscall.Error == "" {
		t.Errorf("errors %q, %q: want both named", ev.ev.Syscall.Error, file.ev.Syscall.Error)
	}
	seed(t, ev.raw)
	seed(t, file.raw)
}

// TestUserfaultfd: the descriptor it returned.
func TestUserfaultfd(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{})
	pid, out := helper(t, "userfaultfd")
	fd, _ := strconv.Atoi(out)
	ev := only(t, s.of(pid), event.KindUserfaultfd, 1)[0]
	wantSyscall(t, ev.ev, "userfaultfd", int64(fd), unix.O_CLOEXEC|unix.O_NONBLOCK)
	seed(t, ev.raw)
}

const addrNoRandomize = 0x0040000 // ADDR_NO_RANDOMIZE, include/uapi/linux/personality.h

// TestPersonality: turning address randomization off is reported with the
// persona asked for and the one replaced; queries are not reported.
func TestPersonality(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{})
	pid, out := helper(t, "personality", "0x0040000") // ADDR_NO_RANDOMIZE
	old, _ := strconv.ParseInt(out, 10, 64)
	recs := only(t, s.of(pid), event.KindPersonality, 2)
	wantSyscall(t, recs[0].ev, "personality", old, addrNoRandomize)
	wantSyscall(t, recs[1].ev, "personality", addrNoRandomize, old)
	seed(t, recs[0].raw)
}
