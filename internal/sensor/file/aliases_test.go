package file

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// aliasOf matches opens of path reported as another name of real.
func aliasOf(path, real string) func(*event.Event) bool {
	return func(ev *event.Event) bool {
		return ev.Kind == event.KindFileOpen && ev.File.Path == path && ev.File.AliasOf == real
	}
}

// TestFileAliasHardLink: /etc/shadow read through a hard link in a test
// directory is reported, naming the link and the watched file. Where the
// test directory is on another file system than /etc, a private copy in a
// directory of the test's own stands in for /etc/shadow.
func TestFileAliasHardLink(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := tempDir(t)
	real, link := "/etc/shadow", filepath.Join(dir, "v17f-shadow-link")
	if err := os.Link(real, link); errors.Is(err, syscall.EXDEV) {
		real = filepath.Join(tempDir(t), "v17f-secret")
		mkfile(t, real, 0o600)
		err = os.Link(real, filepath.Join(filepath.Dir(real), "v17f-link"))
		link = filepath.Join(filepath.Dir(real), "v17f-link")
		if err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(link) })
	w := watch(t, only(Config{Exact: []string{real}}))
	readAll(t, link)
	ev := w.waitFor(t, "file_open_alias_hardlink", aliasOf(link, real))
	if ev.File.PathSource != "kernel" || ev.File.Inode == 0 {
		t.Errorf("alias open: %+v", ev.File)
	}
}

// TestFileAliasBindMount: /etc/shadow read through a bind mount of /etc in
// a private mount namespace (unshare -m, in a child) is reported.
func TestFileAliasBindMount(t *testing.T) {
	testenv.RequirePrivileged(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		testenv.Unavailable(t, "unshare(1) not installed (util-linux)")
	}
	mnt := filepath.Join(tempDir(t), "v17f-etc")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	w := watch(t, only(Config{Exact: []string{"/etc/shadow"}}))
	via := filepath.Join(mnt, "shadow")
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount --bind /etc "$1" && cat "$1/shadow" >/dev/null`, "sh", mnt)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("unshare: %v: %s", err, out)
	}
	w.waitFor(t, "file_open_alias_bind", aliasOf(via, "/etc/shadow"))
}

// TestFileAliasFollowsAReplacedFile: a watched file replaced by a rename
// (as passwd replaces /etc/shadow) has a new inode; an Update (as a
// refresh does) recognises its new links.
func TestFileAliasFollowsAReplacedFile(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := tempDir(t)
	secret := filepath.Join(dir, "v17f-secret")
	mkfile(t, secret, 0o600)
	cfg := only(Config{Exact: []string{secret}, AliasRefresh: -1})
	w := watch(t, cfg)
	next := filepath.Join(dir, "v17f-secret+")
	mkfile(t, next, 0o600)
	if err := os.Rename(next, secret); err != nil {
		t.Fatal(err)
	}
	if err := w.sensor.Update(cfg); err != nil {
		t.Fatal(err)
	}
	other := tempDir(t)
	link := filepath.Join(other, "v17f-link")
	if err := os.Link(secret, link); err != nil {
		t.Fatal(err)
	}
	readAll(t, link)
	w.waitFor(t, "file_open_alias_replaced", aliasOf(link, secret))
}

func readAll(t *testing.T, p string) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(io.Discard, f); err != nil {
		t.Fatal(err)
	}
}
