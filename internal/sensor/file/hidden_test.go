package file

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// Names starting with '.' made directly in a hidden_dirs directory are
// reported by every call that makes a name, with nothing else watched;
// plain names, dot names one directory deeper, failed calls, and opens of
// a dot name that do not create are not.
func TestFileHiddenNamesMadeInHiddenDirs(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := tempDir(t)
	p := func(n string) string { return filepath.Join(dir, n) }
	mkdirs(t, p("sub"))
	mkfile(t, p(".vh17h-existing"), 0o644)
	mkfile(t, p("plainfile"), 0o644)
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dfd)
	w := watch(t, only(Config{HiddenDirs: []string{dir}}))

	// what Falco's event-generator does (CreateHiddenFilesOrDirectories)
	gen, err := os.MkdirTemp(dir, ".vh17h-event-generator-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(gen); err != nil {
		t.Fatal(err)
	}
	mustSys(t, "mkdir plain", unix.SYS_MKDIR, p("plain"), 0o755)
	mustSys(t, "mkdir deeper", unix.SYS_MKDIR, p("sub/.deeper"), 0o755)
	mustSys(t, "mkdirat relative", unix.SYS_MKDIRAT, dfd, ".rel", 0o700)
	mustSys(t, "mkdir trailing slash", unix.SYS_MKDIR, p(".slash")+"/", 0o700)
	if _, err := sys(unix.SYS_MKDIR, p(".rel"), 0o700); err != unix.EEXIST {
		t.Fatalf("mkdir of an existing directory: %v", err)
	}
	openClose(t, p(".made"), unix.O_CREAT|unix.O_WRONLY, 0o600)
	openClose(t, p(".vh17h-existing"), unix.O_RDONLY, 0)
	openClose(t, p("plainfile"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	mustSys(t, "symlink", unix.SYS_SYMLINK, "/nowhere", p(".sym"))
	mustSys(t, "link", unix.SYS_LINK, p("plainfile"), p(".hard"))
	mustSys(t, "rename in", unix.SYS_RENAME, p("plain"), p(".renamed"))
	mustSys(t, "rename out", unix.SYS_RENAME, p(".renamed"), p("visible"))
	mustSys(t, "mkdir last", unix.SYS_MKDIR, p(".last"), 0o700)

	ev := w.waitFor(t, "file_mkdir_hidden", bySyscall(event.KindFileMkdir, gen, "mkdirat"))
	if ev.File.PathSource != "argument" || ev.File.Mode != 0o700 || ev.Syscall.Ret != 0 {
		t.Errorf("event-generator's mkdir: %+v %+v", ev.File, ev.Syscall)
	}
	w.waitFor(t, "file_mkdirat_hidden_relative", bySyscall(event.KindFileMkdir, p(".rel"), "mkdirat"))
	w.waitFor(t, "file_mkdir_hidden_trailing_slash", bySyscall(event.KindFileMkdir, p(".slash"), "mkdir"))
	ev = w.waitFor(t, "file_open_hidden_created", at(event.KindFileOpen, p(".made")))
	if ev.File.PathSource != "kernel" || ev.File.Inode == 0 || !slices.Contains(ev.File.Flags, "O_CREAT") {
		t.Errorf("hidden file created: %+v", ev.File)
	}
	w.waitFor(t, "file_symlink_hidden", at(event.KindFileSymlink, p(".sym")))
	ev = w.waitFor(t, "file_link_hidden", at(event.KindFileLink, p("plainfile")))
	if ev.File.NewPath != p(".hard") {
		t.Errorf("link new path %q", ev.File.NewPath)
	}
	ev = w.waitFor(t, "file_rename_hidden", at(event.KindFileRename, p("plain")))
	if ev.File.NewPath != p(".renamed") {
		t.Errorf("rename new path %q", ev.File.NewPath)
	}
	w.waitFor(t, "file_mkdir_hidden_last", at(event.KindFileMkdir, p(".last")))

	w.none(t, "plain mkdir", at(event.KindFileMkdir, p("plain")))
	w.none(t, "dot name below the directory", at(event.KindFileMkdir, p("sub/.deeper")))
	w.none(t, "failed mkdir", func(ev *event.Event) bool {
		return at(event.KindFileMkdir, p(".rel"))(ev) && ev.Syscall.Error != ""
	})
	w.none(t, "read of a dot file", at(event.KindFileOpen, p(".vh17h-existing")))
	w.none(t, "plain file created", at(event.KindFileOpen, p("plainfile")))
	w.none(t, "rename to a plain name", at(event.KindFileRename, p(".renamed")))
	if n := len(w.find(at(event.KindFileMkdir, p(".rel")))); n != 1 {
		t.Errorf("%d mkdirs of .rel reported, want the one that made it", n)
	}
}

// The default watch set reports what the event-generator does in /tmp
// itself: a dot directory made there. A plain one is not. Both are the
// test's own, with its prefix, and removed.
func TestDefaultsWatchHiddenNamesMadeInTmp(t *testing.T) {
	testenv.RequirePrivileged(t)
	tmp, err := filepath.EvalSymlinks("/tmp")
	if err != nil {
		t.Fatal(err)
	}
	w := watch(t, Config{})
	plain, err := os.MkdirTemp(tmp, "vh17h-plain-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(plain) })
	hidden, err := os.MkdirTemp(tmp, ".vh17h-hidden-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(hidden) })

	w.waitFor(t, "file_mkdir_hidden_tmp", at(event.KindFileMkdir, hidden))
	w.none(t, "plain directory in /tmp", at(event.KindFileMkdir, plain))
}
