package agent

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// python3 is the system's Python, which the tests drive as an attacker's
// one-liner would.
func python3(t *testing.T) string {
	t.Helper()
	p, err := filepath.EvalSymlinks("/usr/bin/python3")
	if err != nil {
		testenv.Unavailable(t, fmt.Sprintf("this machine has no /usr/bin/python3: %v", err))
	}
	return p
}

// TestPackSeesEvasions: with the default pack, three ways around the
// process rules raise alerts on real processes (issue 18, item 7):
// a program in /tmp run by the dynamic loader (the exec names the loader),
// a shell that python starts on a pty while it holds a connected socket
// (no socket on the shell's stdio), and a memfd named as runc names its
// clone, executed by a process that is no container runtime.
func TestPackSeesEvasions(t *testing.T) {
	testenv.RequirePrivileged(t)
	py := python3(t)
	dir, err := os.MkdirTemp("/tmp", "v18e-evasion-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	prog := filepath.Join(dir, "prog")
	copyFile(t, realPath(t, "/bin/true"), prog)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() { // the attacker's listener: takes what the relay sends
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = c.Read(make([]byte, 4096)); c.Close() }()
		}
	}()
	sink := startWithPack(t, "", dir)

	// the loader runs the program: exec_from_temp_dir sees it
	loader := "/lib64/ld-linux-x86-64.so.2"
	if _, err := os.Stat(loader); err != nil {
		testenv.Unavailable(t, fmt.Sprintf("no x86-64 glibc loader at %s: %v", loader, err))
	}
	m := marker(t)
	if out, err := exec.Command(loader, prog, m).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", loader, prog, err, out)
	}
	for _, r := range []string{"program_run_through_loader", "exec_from_temp_dir"} {
		al := sink.waitAlert(t, r, "the loader running "+prog, argHas(m))
		if p := al.Event.Process; p.LoadedProgram != prog || filepath.Base(p.Binary) != "ld-linux-x86-64.so.2" {
			t.Errorf("%s: binary %s, loaded_program %q, want the loader loading %s", r, p.Binary, p.LoadedProgram, prog)
		}
	}

	// python connects out, then runs a shell on a pty it relays
	m = marker(t)
	relay := fmt.Sprintf(`
import os, socket
s = socket.create_connection(("127.0.0.1", %d))
pid, master = os.forkpty()
if pid == 0:
    os.execv("/bin/sh", ["sh", "-c", "exit 0", %q])
while True:
    try:
        b = os.read(master, 1024)
    except OSError:
        break
    if not b:
        break
    s.sendall(b)
os.waitpid(pid, 0)
`, ln.Addr().(*net.TCPAddr).Port, m)
	if out, err := exec.Command(py, "-c", relay).CombinedOutput(); err != nil {
		t.Fatalf("pty relay: %v\n%s", err, out)
	}
	al := sink.waitAlert(t, "shell_on_network_relay_pty", "a shell on python's pty", argHas(m))
	if p := al.Event.Process; p.TTY == "" || al.Event.Parent == nil || al.Event.Parent.Binary != py {
		t.Errorf("shell on tty %q, parent %+v: want a pts and %s", p.TTY, al.Event.Parent, py)
	}

	// a memfd named runc_cloned:/proc/self/exe, run by python
	m = marker(t)
	memfd := fmt.Sprintf(`
import os
fd = os.memfd_create("runc_cloned:/proc/self/exe", 0)
os.write(fd, open("/bin/true", "rb").read())
os.execv("/proc/self/fd/%%d" %% fd, ["runc", %q])
`, m)
	if out, err := exec.Command(py, "-c", memfd).CombinedOutput(); err != nil {
		t.Fatalf("memfd exec: %v\n%s", err, out)
	}
	al = sink.waitAlert(t, "fileless_execution", "a memfd named like runc's clone", argHas(m))
	if b := al.Event.Process.Binary; !strings.HasPrefix(b, "/memfd:runc_cloned") {
		t.Errorf("fileless_execution of %q, want the memfd runc_cloned", b)
	}
	if al.Event.Kind != event.KindProcessExec {
		t.Errorf("alert on %s, want process_exec", al.Event.Kind)
	}
}
