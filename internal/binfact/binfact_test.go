package binfact

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// idOf is the kernel's identity of the file at p, as the process sensor
// reports it.
func idOf(t *testing.T, p string) *event.FileID {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return &event.FileID{Dev: kernelDev(st.Dev), Inode: st.Ino}
}

// tree makes root/rel as an executable file, its directories 0755.
func tree(t *testing.T, root, rel string) string {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTrustedNeedsSystemDirAndRootOwnership: a root-owned file in a
// system directory whose directories nobody else may write is trusted;
// the same file elsewhere, with a writable directory above it, writable
// itself, or not the file the kernel ran, is not.
func TestTrustedNeedsSystemDirAndRootOwnership(t *testing.T) {
	testenv.RequirePrivileged(t) // files must be owned by root
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	sys := tree(t, root, "usr/bin/tool")
	opt := tree(t, root, "opt/x/sshd")
	check := func(bin string, id *event.FileID) bool {
		return New(Config{Root: root}).Of(0, bin, id).Trusted
	}
	if !check("/usr/bin/tool", idOf(t, sys)) {
		t.Error("root-owned /usr/bin/tool: not trusted")
	}
	if check("/opt/x/sshd", idOf(t, opt)) {
		t.Error("/opt/x/sshd: trusted, but /opt is no system directory")
	}
	if check("/usr/bin/tool", idOf(t, opt)) {
		t.Error("/usr/bin/tool with another file's identity: trusted")
	}
	if check("/usr/bin/tool", nil) {
		t.Error("no identity and no pid: trusted")
	}
	if err := os.Chmod(sys, 0o775); err != nil {
		t.Fatal(err)
	}
	if check("/usr/bin/tool", idOf(t, sys)) {
		t.Error("group-writable /usr/bin/tool: trusted")
	}
	if err := os.Chmod(sys, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "usr"), 0o777); err != nil {
		t.Fatal(err)
	}
	if check("/usr/bin/tool", idOf(t, sys)) {
		t.Error("/usr/bin/tool below a world-writable /usr: trusted")
	}
	if err := os.Chmod(filepath.Join(root, "usr"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(sys, 65534, 0); err != nil {
		t.Fatal(err)
	}
	if check("/usr/bin/tool", idOf(t, sys)) {
		t.Error("/usr/bin/tool owned by nobody: trusted")
	}
}

// TestRealSystemBinary: the host's cat (through its resolved path and the
// kernel's identity, or through this process's /proc/PID/exe) is trusted
// and dpkg says which package installed it; a copy below /tmp is neither.
func TestRealSystemBinary(t *testing.T) {
	testenv.RequirePrivileged(t)
	cat, err := filepath.EvalSymlinks("/bin/cat")
	if err != nil {
		t.Fatal(err)
	}
	c := New(DefaultConfig())
	c.LoadPackages()
	f := c.Of(0, cat, idOf(t, cat))
	if !f.Trusted {
		t.Errorf("%s: not trusted", cat)
	}
	if _, err := os.Stat("/var/lib/dpkg/info"); err == nil && f.Package != "coreutils" {
		t.Errorf("%s: package %q, want coreutils", cat, f.Package)
	}
	dir := t.TempDir()
	cp := filepath.Join(dir, "cat")
	data, err := os.ReadFile(cat)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cp, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if f := c.Of(0, cp, idOf(t, cp)); f.Trusted || f.Package != "" {
		t.Errorf("copy %s: %+v, want neither trusted nor packaged", cp, f)
	}
	// no identity from the kernel: the process's own exe gives it
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	self, _ = filepath.EvalSymlinks(self)
	if f := c.Of(uint32(os.Getpid()), self, nil); f.Trusted {
		t.Errorf("test binary %s: trusted", self)
	}
}

// TestDpkgIndexResolvesLinksAndRefreshes: a list naming /bin/tool, where
// /bin links to usr/bin, gives /usr/bin/tool its package; a list added
// later is read once the directory changed.
func TestDpkgIndexResolvesLinksAndRefreshes(t *testing.T) {
	root := t.TempDir()
	tree(t, root, "usr/bin/tool")
	tree(t, root, "usr/bin/other")
	if err := os.Symlink("usr/bin", filepath.Join(root, "bin")); err != nil {
		t.Fatal(err)
	}
	info := filepath.Join(root, "var/lib/dpkg/info")
	if err := os.MkdirAll(info, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(info, "tools:amd64.list"), []byte("/.\n/bin\n/bin/tool\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	d := newDpkgIndex(root, info)
	d.now = func() time.Time { return now }
	d.wait()
	if got := d.lookup("/usr/bin/tool"); got != "tools" {
		t.Errorf("/usr/bin/tool: package %q, want tools", got)
	}
	if got := d.lookup("/usr/bin/other"); got != "" {
		t.Errorf("/usr/bin/other: package %q, want none", got)
	}
	gen := d.generation()
	if err := os.WriteFile(filepath.Join(info, "other.list"), []byte("/usr/bin/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(info, later, later); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * recheck)
	deadline := time.Now().Add(testenv.WaitLimit)
	for d.generation() == gen {
		if time.Now().After(deadline) {
			t.Fatal("index not rebuilt after the info directory changed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := d.lookup("/usr/bin/other"); got != "other" {
		t.Errorf("/usr/bin/other after refresh: package %q, want other", got)
	}
}

// TestSystemDir lists what counts as a system directory.
func TestSystemDir(t *testing.T) {
	for bin, want := range map[string]bool{
		"/usr/bin/dpkg": true, "/usr/sbin/sshd": true, "/bin/sh": true, "/sbin/init": true,
		"/usr/lib/openssh/sftp-server": true, "/usr/libexec/x": true, "/usr/lib64/ld-linux-x86-64.so.2": true,
		"/lib/systemd/systemd": true, "/usr/local/bin/x": false, "/opt/x/sshd": false, "/tmp/dpkg": false,
		"/usr/library/x": false, "/usr/lib": false, "/home/u/bin/x": false,
	} {
		if got := SystemDir(bin); got != want {
			t.Errorf("SystemDir(%q) = %v, want %v", bin, got, want)
		}
	}
}
