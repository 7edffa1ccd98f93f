package binfact

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestTrustedThroughProcessRoot: a process in a mount namespace of its own
// whose /usr is an overlay (as in a container) runs a file the host's path
// does not name; judged through /proc/PID/root, a root-owned system binary
// there is trusted as on the host.
func TestTrustedThroughProcessRoot(t *testing.T) {
	testenv.RequirePrivileged(t)
	scratch := t.TempDir()
	script := `set -e
mount -t tmpfs binfact-test "$1"
mkdir -p "$1/upper" "$1/work"
mount -t overlay overlay -o "lowerdir=/usr,upperdir=$1/upper,workdir=$1/work" /usr
exec /usr/bin/sleep 600`
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", scratch)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := cmd.Process.Pid
	proc := "/proc/" + strconv.Itoa(pid)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if exe, _ := os.Readlink(proc + "/exe"); exe == "/usr/bin/sleep" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the overlay's sleep never ran")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var inNS, onHost unix.Stat_t
	if err := unix.Stat(proc+"/exe", &inNS); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat("/usr/bin/sleep", &onHost); err != nil {
		t.Fatal(err)
	}
	if inNS.Dev == onHost.Dev {
		t.Fatalf("the overlay's file has the host's device %d: the test would not reach /proc/PID/root", inNS.Dev)
	}
	if f := New(DefaultConfig()).Of(uint32(pid), "/usr/bin/sleep", nil); !f.Trusted {
		t.Errorf("root-owned /usr/bin/sleep in the process's own root: %+v, want trusted", f)
	}
	// the kernel names the file by the overlay's own device (its mount's),
	// which stat of the file does not give
	var mnt unix.Stat_t
	if err := unix.Stat(proc+"/root/usr", &mnt); err != nil {
		t.Fatal(err)
	}
	kernel := &event.FileID{Dev: kernelDev(mnt.Dev), Inode: inNS.Ino}
	if f := New(DefaultConfig()).Of(uint32(pid), "/usr/bin/sleep", kernel); !f.Trusted {
		t.Errorf("/usr/bin/sleep named by the overlay's device %d: %+v, want trusted", mnt.Dev, f)
	}
	// a process gone: nothing says which file it ran
	if f := New(DefaultConfig()).Of(0, "/usr/bin/sleep", kernel); f.Trusted {
		t.Errorf("no process and no file with the kernel's identity: %+v, want untrusted", f)
	}
}
