package file

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/ring"
)

func openClose(t *testing.T, p string, flags int, mode uint32) {
	t.Helper()
	fd, err := unix.Open(p, flags|unix.O_CLOEXEC, mode)
	if err != nil {
		t.Fatalf("open %s: %v", p, err)
	}
	unix.Close(fd)
}

func TestFileExecDirsReportExecutablesOnly(t *testing.T) {
	dir := tempDir(t)
	w := watch(t, only(Config{ExecDirs: []string{dir}}))
	p := func(n string) string { return filepath.Join(dir, n) }

	openClose(t, p("data"), unix.O_CREAT|unix.O_WRONLY, 0o644) // not executable: quiet
	mustSys(t, "chmod", unix.SYS_CHMOD, p("data"), 0o600)      // no x bit: quiet
	openClose(t, p("data"), unix.O_RDONLY, 0)                  // a read: quiet
	openClose(t, p("dropper"), unix.O_CREAT|unix.O_WRONLY, 0o755)
	mustSys(t, "chmod", unix.SYS_CHMOD, p("data"), 0o711)

	w.waitFor(t, "file_open_exec", at(event.KindFileOpen, p("dropper")))
	ev := w.waitFor(t, "file_chmod_exec", at(event.KindFileChmod, p("data")))
	if ev.File.Mode != 0o711 {
		t.Errorf("chmod mode %o", ev.File.Mode)
	}
	w.none(t, "non-executable write", at(event.KindFileOpen, p("data")))
	if n := len(w.find(at(event.KindFileChmod, p("data")))); n != 1 {
		t.Errorf("%d chmod events, want 1 (the one setting x)", n)
	}
}

func TestFileComponentRulesMatchAnywhere(t *testing.T) {
	dir := tempDir(t)
	ssh := filepath.Join(dir, "home", "ann", ".ssh")
	if err := os.MkdirAll(ssh, 0o700); err != nil {
		t.Fatal(err)
	}
	near := filepath.Join(dir, "home", "ann", ".sshx")
	if err := os.MkdirAll(near, 0o700); err != nil {
		t.Fatal(err)
	}
	mkfile(t, filepath.Join(ssh, "id_ed25519"), 0o600)
	mkfile(t, filepath.Join(near, "other"), 0o600)
	w := watch(t, only(Config{Components: []string{".ssh"}}))

	openClose(t, filepath.Join(near, "other"), unix.O_RDONLY, 0)
	openClose(t, filepath.Join(ssh, "id_ed25519"), unix.O_RDONLY, 0)
	// an argument path is checked component by component too
	mustSys(t, "rename", unix.SYS_RENAME, filepath.Join(near, "other"), filepath.Join(ssh, "authorized_keys"))

	w.waitFor(t, "file_open_ssh_key", at(event.KindFileOpen, filepath.Join(ssh, "id_ed25519")))
	ev := w.waitFor(t, "file_rename_ssh", at(event.KindFileRename, filepath.Join(near, "other")))
	if ev.File.NewPath != filepath.Join(ssh, "authorized_keys") {
		t.Errorf("new path %q", ev.File.NewPath)
	}
	w.none(t, "look-alike directory", at(event.KindFileOpen, filepath.Join(near, "other")))
}

func TestFileExactMatchesTheFileOnly(t *testing.T) {
	dir := tempDir(t)
	secret := filepath.Join(dir, "shadow")
	for _, p := range []string{secret, secret + "-", secret + ".d"} {
		mkfile(t, p, 0o600)
	}
	w := watch(t, only(Config{Exact: []string{secret}}))
	openClose(t, secret+"-", unix.O_RDONLY, 0)
	openClose(t, secret+".d", unix.O_RDONLY, 0)
	openClose(t, secret, unix.O_RDONLY, 0)
	w.waitFor(t, "file_open_exact", at(event.KindFileOpen, secret))
	w.none(t, "backup", at(event.KindFileOpen, secret+"-"))
	w.none(t, "sibling", at(event.KindFileOpen, secret+".d"))
}

// Watching a path through a symlink watches where it leads: the kernel
// reports resolved paths.
func TestFileWatchThroughSymlinkedDirectory(t *testing.T) {
	dir := tempDir(t)
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	alias := filepath.Join(dir, "alias")
	if err := os.Symlink(real, alias); err != nil {
		t.Fatal(err)
	}
	w := watch(t, only(Config{WatchWrites: []string{alias}}))
	openClose(t, filepath.Join(alias, "f"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	mustSys(t, "unlink", unix.SYS_UNLINK, filepath.Join(alias, "f"))
	w.waitFor(t, "file_open_via_alias", at(event.KindFileOpen, filepath.Join(real, "f")))
	w.waitFor(t, "file_unlink_via_alias", at(event.KindFileUnlink, filepath.Join(alias, "f")))
}

// A ".." in an argument path could lead anywhere: such changes are
// reported even outside the watch set, with the path cleaned.
func TestFileUncleanArgumentPathsAreReported(t *testing.T) {
	dir := tempDir(t)
	watched := filepath.Join(dir, "watched")
	other := filepath.Join(dir, "other")
	for _, d := range []string{watched, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mkfile(t, filepath.Join(watched, "victim"), 0o644)
	w := watch(t, only(Config{WatchWrites: []string{watched}}))
	mustSys(t, "unlink", unix.SYS_UNLINK, other+"/../watched/victim")
	ev := w.waitFor(t, "file_unlink_dotdot", at(event.KindFileUnlink, filepath.Join(watched, "victim")))
	if ev.File.PathSource != "argument" {
		t.Errorf("path source %q", ev.File.PathSource)
	}
}

// A path deeper than the walk can follow is reported, flagged as cut, and
// counted: depth must not hide a file.
func TestFileTooDeepPathIsReportedCut(t *testing.T) {
	dir := tempDir(t)
	w := watch(t, only(Config{WatchWrites: []string{filepath.Join(dir, "unrelated")}}))
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 140; i++ { // deeper than WALK_MAX_NAMES
		if err := unix.Mkdirat(fd, "d", 0o755); err != nil {
			t.Fatal(err)
		}
		next, err := unix.Openat(fd, "d", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		fd = next
	}
	leaf, err := unix.Openat(fd, "leaf", unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	unix.Close(fd)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(leaf)
	ev := w.waitFor(t, "file_open_deep", func(ev *event.Event) bool {
		return ev.Kind == event.KindFileOpen && strings.HasSuffix(ev.File.Path, "/d/d/leaf") &&
			ev.Process.PID == uint32(os.Getpid())
	})
	if len(ev.File.Truncated) != 1 || ev.File.Truncated[0] != "path" {
		t.Errorf("truncated %v, want [path]", ev.File.Truncated)
	}
	losses, err := w.ring.Losses()
	if err != nil {
		t.Fatal(err)
	}
	if ring.Lost(losses, ring.Truncated, event.KindFileOpen) == 0 {
		t.Errorf("cut path not counted: losses %+v", losses)
	}
}

func TestFileUpdateReplacesTheWatchSet(t *testing.T) {
	dir := tempDir(t)
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{a, b} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w := watch(t, only(Config{WatchWrites: []string{a}}))
	openClose(t, filepath.Join(a, "1"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	w.waitFor(t, "file_open_before_update", at(event.KindFileOpen, filepath.Join(a, "1")))

	if err := w.sensor.Update(only(Config{WatchWrites: []string{b}})); err != nil {
		t.Fatal(err)
	}
	openClose(t, filepath.Join(a, "2"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	openClose(t, filepath.Join(b, "3"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	w.waitFor(t, "file_open_after_update", at(event.KindFileOpen, filepath.Join(b, "3")))
	w.none(t, "no longer watched", at(event.KindFileOpen, filepath.Join(a, "2")))

	if err := w.sensor.Update(only(Config{WatchWrites: []string{"relative/path"}})); err == nil {
		t.Error("a relative path was accepted")
	}
	openClose(t, filepath.Join(b, "4"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	w.waitFor(t, "file_open_after_bad_update", at(event.KindFileOpen, filepath.Join(b, "4")))
}
