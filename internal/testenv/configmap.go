package testenv

import (
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
)

var configMapGen atomic.Uint64

// ConfigMapUpdate writes files into dir the way the kubelet updates a
// ConfigMap volume: the new files go into a fresh hidden directory, a
// ..data_tmp symlink to it is renamed over ..data (one atomic step that
// changes every file at once), the visible names are links through ..data
// (made at the first update; a key that is gone is removed), and the old
// directory is removed last. Every visible file is replaced, none written.
func ConfigMapUpdate(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	ts := filepath.Join(dir, "..2026_12_07_00_00_00."+strconv.FormatUint(configMapGen.Add(1), 10))
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(os.Mkdir(ts, 0o755))
	for n, data := range files {
		check(os.WriteFile(filepath.Join(ts, n), []byte(data), 0o644))
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	tmp := filepath.Join(dir, "..data_tmp")
	check(os.Symlink(filepath.Base(ts), tmp))
	check(os.Rename(tmp, filepath.Join(dir, "..data")))
	for n := range files {
		link := filepath.Join(dir, n)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			check(os.Symlink(filepath.Join("..data", n), link))
		}
	}
	entries, err := os.ReadDir(dir)
	check(err)
	for _, e := range entries {
		if n := e.Name(); n[0] != '.' && e.Type()&os.ModeSymlink != 0 {
			if _, ok := files[n]; !ok {
				check(os.Remove(filepath.Join(dir, n)))
			}
		}
	}
	if old != "" {
		check(os.RemoveAll(filepath.Join(dir, old)))
	}
}
