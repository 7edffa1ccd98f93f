package process

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/wire"
)

// runEnv runs /bin/true with marker as its argument and env as its whole
// environment.
func runEnv(t *testing.T, marker string, env ...string) {
	t.Helper()
	cmd := exec.Command("/bin/true", marker)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run /bin/true: %v %s", err, out)
	}
}

// TestEnvAtExec: the watched variables a program is given leave the kernel
// with its exec, the others do not.
func TestEnvAtExec(t *testing.T) {
	testenv.RequirePrivileged(t)
	marker := fmt.Sprintf("v17x-env-%d", time.Now().UnixNano())
	rec, _ := record(t, func() {
		runEnv(t, marker, "PATH=/usr/bin:/bin", "V17X_UNWATCHED=secret", "LD_PRELOAD=libc.so.6",
			"HISTFILE=/dev/null", "HTTPS_PROXY=http://10.0.0.1:3128", "GLIBC_TUNABLES=")
	})
	ev, raw := execOf(t, rec, marker)
	want := map[string]string{"LD_PRELOAD": "libc.so.6", "HISTFILE": "/dev/null",
		"HTTPS_PROXY": "http://10.0.0.1:3128", "GLIBC_TUNABLES": ""}
	if !maps.Equal(ev.Process.Env, want) {
		t.Errorf("env = %v, want %v", ev.Process.Env, want)
	}
	if len(ev.Process.Truncated) != 0 {
		t.Errorf("truncated = %v, want nothing cut", ev.Process.Truncated)
	}
	seed(t, "FuzzDecodeExec", raw)
}

// TestEnvLongVariableIsSkipped: a variable longer than the kernel reads at
// once is stepped over whole, so a watched one after it is still found.
func TestEnvLongVariableIsSkipped(t *testing.T) {
	testenv.RequirePrivileged(t)
	marker := fmt.Sprintf("v17x-envlong-%d", time.Now().UnixNano())
	rec, _ := record(t, func() {
		// 4095 bytes with the NUL: exactly one full chunk, the edge case
		edge := "V17X_EDGE=" + strings.Repeat("e", 4095-len("V17X_EDGE="))
		runEnv(t, marker, "V17X_LONG="+strings.Repeat("x", 20000), edge, "LD_AUDIT=/v17x/audit.so")
	})
	ev, _ := execOf(t, rec, marker)
	if want := map[string]string{"LD_AUDIT": "/v17x/audit.so"}; !maps.Equal(ev.Process.Env, want) {
		t.Errorf("env = %v, want %v", ev.Process.Env, want)
	}
	if len(ev.Process.Truncated) != 0 {
		t.Errorf("truncated = %v, want nothing cut", ev.Process.Truncated)
	}
}

// TestEnvBoundsAreCounted: what the count and byte bounds leave out, and
// an environment longer than the kernel examines, are flagged on the event
// and counted as truncations.
func TestEnvBoundsAreCounted(t *testing.T) {
	testenv.RequirePrivileged(t)
	nonce := time.Now().UnixNano()
	byCount := fmt.Sprintf("v17x-count-%d", nonce)
	byBytes := fmt.Sprintf("v17x-bytes-%d", nonce)
	byScan := fmt.Sprintf("v17x-scan-%d", nonce)
	env := Env{Names: []string{"LD_PRELOAD", "HISTFILE", "HISTSIZE", "GLIBC_TUNABLES"}, MaxVars: 2, MaxBytes: 64}
	many := make([]string, 0, 5001)
	for i := range 5000 {
		many = append(many, fmt.Sprintf("V%d=1", i))
	}
	rec, r := recordEnv(t, env, func() {
		runEnv(t, byCount, "LD_PRELOAD=libc.so.6", "HISTFILE=/dev/null", "HISTSIZE=0")
		runEnv(t, byBytes, "GLIBC_TUNABLES="+strings.Repeat("t", 100), "HISTSIZE=0")
		runEnv(t, byScan, append(many, "HISTSIZE=0")...)
	})

	ev, _ := execOf(t, rec, byCount)
	if want := map[string]string{"LD_PRELOAD": "libc.so.6", "HISTFILE": "/dev/null"}; !maps.Equal(ev.Process.Env, want) {
		t.Errorf("count bound: env = %v, want %v", ev.Process.Env, want)
	}
	wantCut(t, "count bound", ev)

	ev, _ = execOf(t, rec, byBytes)
	// 64 bytes with the NUL: the name, '=' and 48 bytes of the value
	if want := map[string]string{"GLIBC_TUNABLES": strings.Repeat("t", 64-1-len("GLIBC_TUNABLES="))}; !maps.Equal(ev.Process.Env, want) {
		t.Errorf("byte bound: env = %v, want %v", ev.Process.Env, want)
	}
	wantCut(t, "byte bound", ev)

	ev, _ = execOf(t, rec, byScan)
	if len(ev.Process.Env) != 0 {
		t.Errorf("scan bound: env = %v, want the variable past %d others unread", ev.Process.Env, len(many))
	}
	wantCut(t, "scan bound", ev)

	losses, err := r.Losses()
	if err != nil {
		t.Fatal(err)
	}
	if n := ring.Lost(losses, ring.Truncated, event.KindProcessExec); n < 3 {
		t.Errorf("%d truncated process_exec counted, want at least 3", n)
	}
}

func wantCut(t *testing.T, what string, ev *event.Event) {
	t.Helper()
	if !slices.Contains(ev.Process.Truncated, "env") {
		t.Errorf("%s: truncated = %v, want env", what, ev.Process.Truncated)
	}
}

// TestScriptInTempDir: a #! script's exec names the interpreter as the
// binary and the script beside it.
func TestScriptInTempDir(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir, err := os.MkdirTemp("/tmp", "v17x-script-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	script := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	marker := fmt.Sprintf("v17x-script-%d", time.Now().UnixNano())
	rec, _ := record(t, func() {
		if out, err := exec.Command(script, marker).CombinedOutput(); err != nil {
			t.Fatalf("run %s: %v %s", script, err, out)
		}
	})
	ev, _ := execOf(t, rec, marker)
	p := ev.Process
	sh, _ := filepath.EvalSymlinks("/bin/sh")
	if p.Binary != sh || p.Script != script || p.Filename != script {
		t.Errorf("binary %q script %q filename %q, want %q, %q, %q", p.Binary, p.Script, p.Filename, sh, script, script)
	}
	// the kernel rewrites argv for the interpreter: interpreter, script, args
	if want := []string{"/bin/sh", script, marker}; !slices.Equal(p.Args, want) {
		t.Errorf("args = %q, want %q", p.Args, want)
	}
}

// TestArgv0AndCommOfSymlink: a link named like a daemon to another program
// shows the daemon's name in argv[0] and comm, and the real program as the
// binary; an argv[0] the caller made up is reported as given.
func TestArgv0AndCommOfSymlink(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir, err := os.MkdirTemp("/tmp", "v17x-link-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	link := filepath.Join(dir, "httpd")
	if err := os.Symlink("/bin/true", link); err != nil {
		t.Fatal(err)
	}
	nonce := time.Now().UnixNano()
	viaLink := fmt.Sprintf("v17x-httpd-%d", nonce)
	madeUp := fmt.Sprintf("v17x-argv0-%d", nonce)
	rec, _ := record(t, func() {
		if err := exec.Command(link, viaLink).Run(); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("/bin/true", madeUp)
		cmd.Args[0] = "sshd: root@pts/0"
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
	})
	trueBin, _ := filepath.EvalSymlinks("/bin/true")

	p := execOfProcess(t, rec, viaLink)
	if p.Args[0] != link || p.Comm != "httpd" || p.Binary != trueBin || p.Filename != link {
		t.Errorf("argv0 %q comm %q binary %q filename %q, want %q, httpd, %q, %q", p.Args[0], p.Comm, p.Binary, p.Filename, link, trueBin, link)
	}
	p = execOfProcess(t, rec, madeUp)
	if p.Args[0] != "sshd: root@pts/0" || p.Comm != "true" || p.Binary != trueBin {
		t.Errorf("argv0 %q comm %q binary %q, want the made-up argv0, true, %q", p.Args[0], p.Comm, p.Binary, trueBin)
	}
}

func execOfProcess(t *testing.T, rec *recorder, marker string) *event.Process {
	t.Helper()
	ev, _ := execOf(t, rec, marker)
	return ev.Process
}

// TestCommRename: a process that renames itself after exec (here through
// /proc/PID/comm, which takes the same kernel path as prctl(PR_SET_NAME))
// is reported once, with the new name; its exec is no rename.
func TestCommRename(t *testing.T) {
	testenv.RequirePrivileged(t)
	var pid int
	rec, _ := record(t, func() {
		cmd := exec.Command("/bin/sh", "-c", "printf v17x-renamed > /proc/$$/comm && printf v17x-renamed > /proc/$$/comm")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("rename: %v %s", err, out)
		}
		pid = cmd.Process.Pid
	})
	d := decoder()
	var renames []*event.Event
	for _, raw := range rec.raws {
		h, err := wire.ParseHeader(raw)
		if err != nil {
			t.Fatal(err)
		}
		if h.Kind != wire.ProcessRename || h.Pid != uint32(pid) {
			continue
		}
		ev, err := d.Rename(raw)
		if err != nil {
			t.Fatalf("rename record does not decode: %v", err)
		}
		renames = append(renames, ev)
		seed(t, "FuzzDecodeRename", raw)
	}
	// the second write keeps the name: no record
	if len(renames) != 1 || renames[0].Process.Comm != "v17x-renamed" || renames[0].Kind != event.KindProcessRename {
		t.Fatalf("renames of pid %d: %+v, want one to v17x-renamed", pid, renames)
	}
}
