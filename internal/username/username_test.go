package username

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

func mntNS(t *testing.T, pid int) uint32 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/ns/mnt", pid), &st); err != nil {
		t.Fatal(err)
	}
	return uint32(st.Ino)
}

func TestParse(t *testing.T) {
	got := parse(strings.NewReader("# comment\nroot:x:0:0:root:/root:/bin/bash\n+nis::::::\n" +
		"toor:x:0:0::/root:/bin/sh\nbad:x:notanumber:0::/:\nshort:x\n:x:7:7::/:\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n"))
	want := map[uint32]string{0: "root", 33: "www-data"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for uid, name := range want {
		if got[uid] != name {
			t.Errorf("uid %d: got %q, want %q (the first entry names a uid)", uid, got[uid], name)
		}
	}
}

// TestOfSelf names this test's own user as the system's user database does.
func TestOfSelf(t *testing.T) {
	uid := os.Getuid()
	u, err := user.LookupId(fmt.Sprint(uid))
	if err != nil {
		t.Skipf("uid %d has no entry in this machine's user database: %v", uid, err)
	}
	n := New("/proc")
	if got := n.Of(uint32(os.Getpid()), uint32(uid), mntNS(t, os.Getpid())); got != u.Username {
		t.Errorf("Of(self) = %q, want %q", got, u.Username)
	}
	if got := n.Of(uint32(os.Getpid()), 4_000_000_000, mntNS(t, os.Getpid())); got != "" {
		t.Errorf("a uid without an entry is named %q", got)
	}
}

// TestOfOwnMountNamespace: a process whose /etc/passwd is another file (a
// container's image, here a bind mount in a mount namespace of its own) is
// named from that file, which is read again when it changes, and still
// names the process's uid once it is gone.
func TestOfOwnMountNamespace(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte("root:x:0:0::/root:/bin/sh\nvh17f-app:x:4242:4242::/:/bin/false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" /etc/passwd && exec sleep 300`, "sh", passwd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// the bind mount is in place once the child's /etc/passwd is the file
	waitFor(t, "the child's /etc/passwd to be the test's", func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/root/etc/passwd", pid))
		return err == nil && strings.Contains(string(b), "vh17f-app") && mntNS(t, pid) != mntNS(t, os.Getpid())
	})
	ns := mntNS(t, pid)
	n := New("/proc")
	if got := n.Of(uint32(pid), 4242, ns); got != "vh17f-app" {
		t.Fatalf("Of(child, 4242) = %q, want vh17f-app (from its own /etc/passwd)", got)
	}
	if got := n.Of(uint32(os.Getpid()), 4242, mntNS(t, os.Getpid())); got == "vh17f-app" {
		t.Errorf("the host's file named 4242 %q: the child's leaked into it", got)
	}

	// a new version of the file (another size) is read again
	f, err := os.OpenFile(passwd, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("vh17f-new:x:4343:4343::/:/bin/false\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := n.Of(uint32(pid), 4343, ns); got != "vh17f-new" {
		t.Errorf("after the file changed: Of(child, 4343) = %q, want vh17f-new", got)
	}

	// gone: the file last read for its mount namespace answers
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if got := n.Of(uint32(pid), 4242, ns); got != "vh17f-app" {
		t.Errorf("after the process is gone: Of = %q, want vh17f-app", got)
	}
	if got := New("/proc").Of(uint32(pid), 4242, ns); got != "" {
		t.Errorf("a fresh cache names a gone process %q", got)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitLimit) // a loaded CI machine is slow
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", testenv.WaitLimit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkOf: a lookup on a hit (the file parsed already) against the
// stat it makes; docs/benchmarks.md has the ratio.
func BenchmarkOf(b *testing.B) {
	pid, uid := uint32(os.Getpid()), uint32(os.Getuid())
	path := fmt.Sprintf("/proc/%d/root/etc/passwd", pid)
	b.Run("stat", func(b *testing.B) {
		var st syscall.Stat_t
		for b.Loop() {
			if err := syscall.Stat(path, &st); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("of", func(b *testing.B) {
		n := New("/proc")
		n.Of(pid, uid, 1)
		for b.Loop() {
			n.Of(pid, uid, 1)
		}
	})
}
