package file

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// dottedChanges makes, in dir (the cwd), the same changes through paths
// with "." components and repeated or trailing slashes, each spelling a
// file of dir: "./a", "dir//c", "dir/./f", "./g/" … Every call succeeds
// but the failed open.
func dottedChanges(t *testing.T, dir string) {
	t.Helper()
	t.Chdir(dir)
	for _, f := range []string{"a", "b", "c", "e", "f"} {
		mkfile(t, filepath.Join(dir, f), 0o644)
	}
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dfd)
	mustSys(t, "unlink ./a", unix.SYS_UNLINK, "./a")
	mustSys(t, "rename ./b ./b2", unix.SYS_RENAME, "./b", ".//b2")
	mustSys(t, "unlink dir//c", unix.SYS_UNLINK, dir+"//c")
	mustSys(t, "mkdir ./d", unix.SYS_MKDIR, "./d", 0o755)
	mustSys(t, "unlinkat dirfd ./e", unix.SYS_UNLINKAT, dfd, "./e", 0)
	mustSys(t, "chmod dir/./f", unix.SYS_CHMOD, dir+"/./f", 0o600)
	mustSys(t, "mkdir ./g/", unix.SYS_MKDIR, "./././g/", 0o755)
	if _, err := sys(unix.SYS_OPEN, dir+"/.//missing", unix.O_WRONLY, 0); err != unix.ENOENT {
		t.Fatalf("open of a missing file: %v, want ENOENT", err)
	}
}

// "." components and repeated slashes are cleaned in the kernel before the
// path is matched: in an unwatched directory such changes stay in the
// kernel, in a watched one they are reported with the clean path. Only
// ".." makes a path be reported whatever it looks like
// (TestFileUncleanArgumentPathsAreReported).
func TestFileDottedArgumentPathsAreCleanedBeforeMatching(t *testing.T) {
	root := tempDir(t)
	watched, other := filepath.Join(root, "watched"), filepath.Join(root, "other")
	for _, d := range []string{watched, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w := watch(t, only(Config{WatchWrites: []string{watched}}))

	dottedChanges(t, other)
	dottedChanges(t, watched)

	p := func(n string) string { return filepath.Join(watched, n) }
	for _, c := range []struct {
		kind          event.Kind
		path, syscall string
	}{
		{event.KindFileUnlink, p("a"), "unlink"},
		{event.KindFileRename, p("b"), "rename"},
		{event.KindFileUnlink, p("c"), "unlink"},
		{event.KindFileMkdir, p("d"), "mkdir"},
		{event.KindFileUnlink, p("e"), "unlinkat"},
		{event.KindFileChmod, p("f"), "chmod"},
		{event.KindFileMkdir, p("g"), "mkdir"},
		{event.KindFileOpen, p("missing"), "open"},
	} {
		ev := w.waitFor(t, string(c.kind)+"_dotted_"+c.syscall, bySyscall(c.kind, c.path, c.syscall))
		if ev.File.PathSource != "argument" {
			t.Errorf("%s %s: path source %q, want argument", c.syscall, c.path, ev.File.PathSource)
		}
		if c.kind == event.KindFileRename && ev.File.NewPath != p("b2") {
			t.Errorf("rename: new path %q, want %q", ev.File.NewPath, p("b2"))
		}
	}
	// the raw records hold the path as the kernel cleaned it, not only
	// the decoder's cleaning
	for _, r := range w.find(func(ev *event.Event) bool { return ev.Process.PID == uint32(os.Getpid()) }) {
		for _, s := range rawPaths(t, r.raw) {
			if s != filepath.Clean(s) {
				t.Errorf("%s %q: the kernel matched and sent %q, not cleaned", r.ev.Kind, r.ev.File.Path, s)
			}
		}
	}
	// the unwatched directory's changes came first, from the same thread
	w.none(t, "unwatched dotted", func(ev *event.Event) bool {
		return ev.Process.PID == uint32(os.Getpid()) &&
			(strings.HasPrefix(ev.File.Path, other) || strings.HasPrefix(ev.File.NewPath, other))
	})
}

// rawPaths are a record's path and path2 as the kernel wrote them, before
// the decoder's own cleaning.
func rawPaths(t *testing.T, raw []byte) []string {
	t.Helper()
	info, ok := wire.Fixed[fileFileInfo](raw)
	if !ok {
		t.Fatalf("short record %q", raw)
	}
	var out []string
	for _, ref := range []struct{ off, len uint16 }{{info.Path.Off, info.Path.Len}, {info.Path2.Off, info.Path2.Len}} {
		b := wire.NewBlob(raw[fileInfoSize:])
		s := b.String(ref.off, ref.len)
		if err := b.Err(); err != nil {
			t.Fatal(err)
		}
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
