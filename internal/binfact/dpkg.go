package binfact

import (
	"bufio"
	"hash/fnv"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// recheck is how often the index looks whether dpkg's database changed.
const recheck = 2 * time.Second

// dpkgIndex maps the files dpkg installed (/var/lib/dpkg/info/*.list) to
// their packages. Built on the first lookup and again, in the background,
// when the info directory changes (dpkg renames a new .list into place);
// lookups meanwhile use the previous index. Paths are kept as 64-bit
// hashes of the resolved path (a list says /bin/bash where /bin is a link
// to usr/bin; the kernel reports /usr/bin/bash), a few MB for 100k files.
type dpkgIndex struct {
	root, dir string
	now       func() time.Time

	mu       sync.Mutex
	byPath   map[uint64]uint32
	names    []string
	gen      uint64    // bumped by every finished build
	stamp    time.Time // the info directory's mtime the index was built from
	checked  time.Time
	building bool
	builds   sync.WaitGroup // the background build under way
}

func newDpkgIndex(root, dir string) *dpkgIndex {
	return &dpkgIndex{root: root, dir: dir, now: time.Now}
}

// generation says which build lookups read; it starts the first build.
func (d *dpkgIndex) generation() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refreshLocked()
	return d.gen
}

// lookup returns the package that installed the resolved path p.
func (d *dpkgIndex) lookup(p string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refreshLocked()
	if i, ok := d.byPath[hashPath(p)]; ok {
		return d.names[i]
	}
	return ""
}

// refreshLocked starts a build when the directory's mtime moved since the
// last one (at most every recheck).
func (d *dpkgIndex) refreshLocked() {
	now := d.now()
	if d.building || (!d.checked.IsZero() && now.Sub(d.checked) < recheck) {
		return
	}
	d.checked = now
	fi, err := os.Stat(d.dir)
	if err != nil || fi.ModTime().Equal(d.stamp) {
		return
	}
	d.building = true
	d.builds.Add(1)
	go func() {
		defer d.builds.Done()
		d.build(fi.ModTime())
	}()
}

// build reads every .list and swaps the result in.
func (d *dpkgIndex) build(stamp time.Time) {
	byPath, names := readDpkgLists(d.root, d.dir)
	d.mu.Lock()
	d.byPath, d.names = byPath, names
	d.stamp, d.building = stamp, false
	d.gen++
	d.mu.Unlock()
}

// Wait builds the index now if it was never built: for tests, and for a
// caller that wants packages from the first event.
func (d *dpkgIndex) wait() {
	fi, err := os.Stat(d.dir)
	if err != nil {
		return
	}
	d.mu.Lock()
	built := d.gen > 0
	d.mu.Unlock()
	if !built {
		d.build(fi.ModTime())
	}
}

// readDpkgLists parses dir/*.list ("pkg.list" or "pkg:arch.list", one
// installed path a line). Unreadable lists are skipped: the index is a
// fact for rules, never a reason to stop.
func readDpkgLists(root, dir string) (map[uint64]uint32, []string) {
	lists, _ := filepath.Glob(filepath.Join(dir, "*.list"))
	byPath := make(map[uint64]uint32, 64*len(lists))
	names := make([]string, 0, len(lists))
	resolved := map[string]string{} // list directory → resolved directory
	for _, l := range lists {
		name, _, _ := strings.Cut(strings.TrimSuffix(filepath.Base(l), ".list"), ":")
		f, err := os.Open(l)
		if err != nil {
			continue
		}
		id := uint32(len(names))
		names = append(names, name)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			p := sc.Text()
			if len(p) < 2 || p[0] != '/' {
				continue
			}
			byPath[hashPath(resolvePath(root, p, resolved))] = id
		}
		_ = f.Close() // read-only: nothing to lose
	}
	return byPath, names
}

// resolvePath resolves the symbolic links in p's directory, under root.
func resolvePath(root, p string, cache map[string]string) string {
	dir, base := path.Split(p)
	dir = path.Clean(dir)
	r, ok := cache[dir]
	if !ok {
		r = dir
		if real, err := filepath.EvalSymlinks(filepath.Join(root, dir)); err == nil {
			if rel, err := filepath.Rel(root, real); err == nil && !strings.HasPrefix(rel, "..") {
				r = path.Join("/", filepath.ToSlash(rel))
			}
		}
		cache[dir] = r
	}
	return path.Join(r, base)
}

func hashPath(p string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(p))
	return h.Sum64()
}
