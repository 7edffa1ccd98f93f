// Package binfact computes facts about the file a process runs that the
// process cannot choose: whether it is a system binary (in a system
// directory, owned by root, writable by nobody else, and so is every
// directory above it) and which installed package owns it. Rules key
// their exceptions on these facts instead of the program's name, which
// whoever copies or names a file picks. Each version of a file (device,
// inode, mtime, ctime) is judged once and cached.
package binfact

import (
	"path"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
)

// Config says where to look.
type Config struct {
	// Root is the host's root directory, normally "/".
	Root string
	// Proc is the procfs mount, normally /proc: a process whose binary
	// is not the host's file at its path (it runs in another mount
	// namespace) is judged through /proc/PID/root. "" disables that.
	Proc string
	// DpkgInfo is dpkg's database of installed files, normally
	// /var/lib/dpkg/info; "" or a missing directory disables packages.
	DpkgInfo string
	// MaxEntries bounds the cache of judged files; 0 means 4096.
	MaxEntries int
}

// DefaultConfig is the host's layout.
func DefaultConfig() Config {
	return Config{Root: "/", Proc: "/proc", DpkgInfo: "/var/lib/dpkg/info", MaxEntries: 4096}
}

// Facts are what the checker knows about one executable.
type Facts struct {
	// Trusted: the file lies in a system directory (SystemDir), is a
	// regular file owned by root and not writable by group or others,
	// and every directory from it up to the root is owned by root and
	// not writable by group or others.
	Trusted bool
	// Package is the installed package that lists the file ("" when
	// none does, or the host has no package database the checker
	// reads). Set only for files of the host's own root.
	Package string
}

// Checker judges executables. Safe for concurrent use.
type Checker struct {
	cfg  Config
	pkgs *dpkgIndex // nil: no package database

	mu    sync.Mutex
	cache map[fileVersion]Facts
}

// fileVersion is one content and metadata state of one file, under the
// root it was judged in (host: packages apply).
type fileVersion struct {
	dev, ino     uint64
	mtime, ctime int64
	host         bool
	pkgGen       uint64 // generation of the package index used
}

// New returns a checker for cfg.
func New(cfg Config) *Checker {
	if cfg.Root == "" {
		cfg.Root = "/"
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 4096
	}
	c := &Checker{cfg: cfg, cache: map[fileVersion]Facts{}}
	if cfg.DpkgInfo != "" {
		c.pkgs = newDpkgIndex(cfg.Root, cfg.DpkgInfo)
	}
	return c
}

// SystemDir reports whether the absolute path bin lies in a directory
// the system's packages own: /usr/bin, /usr/sbin, /bin, /sbin, and the
// library directories /usr/lib, /usr/lib32, /usr/lib64, /usr/libx32,
// /usr/libexec and the same below / (systems without a merged /usr).
func SystemDir(bin string) bool {
	for _, p := range []string{"/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/"} {
		if strings.HasPrefix(bin, p) {
			return true
		}
	}
	rest := strings.TrimPrefix(bin, "/usr")
	for _, d := range []string{"/lib/", "/lib32/", "/lib64/", "/libx32/", "/libexec/"} {
		if strings.HasPrefix(rest, d) {
			return true
		}
	}
	return false
}

// Of judges the executable a process runs: pid, the resolved path the
// kernel reported, and the kernel's identity of the file (nil when
// unknown: then /proc/PID/exe supplies it). A file that is not, at its
// path, the one the kernel ran (replaced, or in a mount namespace whose
// process is gone) is not trusted.
func (c *Checker) Of(pid uint32, binary string, exe *event.FileID) Facts {
	if binary == "" || binary[0] != '/' || strings.Contains(binary, "/../") || strings.HasSuffix(binary, "/..") {
		return Facts{}
	}
	wantDev, wantIno, ok := c.identity(pid, exe)
	if !ok {
		return Facts{}
	}
	// the host's file first; the process's own root (/proc/PID/root) only
	// when the host's is not the file the kernel ran
	var st unix.Stat_t
	if ran(under(c.cfg.Root, binary), wantDev, wantIno, &st) {
		return c.judge(c.cfg.Root, binary, &st, true)
	}
	if c.cfg.Proc != "" && pid != 0 {
		root := path.Join(c.cfg.Proc, strconv.FormatUint(uint64(pid), 10), "root")
		st = unix.Stat_t{}
		if ran(path.Join(root, binary), wantDev, wantIno, &st) {
			return c.judge(root, binary, &st, false)
		}
		// an overlay (a container's root) gives its files the device of
		// the layer they come from, not the overlay's own the kernel
		// reported: then the running process's executable, as stat sees
		// it, says whether the file just looked at is the one it runs
		if exe != nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
			if d, i, ok := c.identity(pid, nil); ok && kernelDev(st.Dev) == d && st.Ino == i {
				return c.judge(root, binary, &st, false)
			}
		}
	}
	return Facts{}
}

// ran lstats p into st and says whether it is the regular file dev:ino.
func ran(p string, dev uint32, ino uint64, st *unix.Stat_t) bool {
	return unix.Lstat(p, st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG &&
		kernelDev(st.Dev) == dev && st.Ino == ino
}

// under is path.Join(root, p) without building a string in the common case
// of the host's root and a clean path (what the kernel reports): one exec
// of a cached binary then costs one lstat and no allocation here.
func under(root, p string) string {
	if root == "/" && path.Clean(p) == p {
		return p
	}
	return path.Join(root, p)
}

// identity is the (device, inode) the kernel ran, in the kernel's device
// encoding.
func (c *Checker) identity(pid uint32, exe *event.FileID) (dev uint32, ino uint64, ok bool) {
	if exe != nil && exe.Inode != 0 {
		return exe.Dev, exe.Inode, true
	}
	if c.cfg.Proc == "" || pid == 0 {
		return 0, 0, false
	}
	var st unix.Stat_t
	if unix.Stat(path.Join(c.cfg.Proc, strconv.FormatUint(uint64(pid), 10), "exe"), &st) != nil {
		return 0, 0, false
	}
	return kernelDev(st.Dev), st.Ino, true
}

// judge returns the facts of the file st at root+binary, cached by its
// version.
func (c *Checker) judge(root, binary string, st *unix.Stat_t, host bool) Facts {
	key := fileVersion{dev: st.Dev, ino: st.Ino, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(), host: host}
	if host && c.pkgs != nil {
		key.pkgGen = c.pkgs.generation()
	}
	c.mu.Lock()
	f, hit := c.cache[key]
	c.mu.Unlock()
	if hit {
		return f
	}
	f.Trusted = SystemDir(binary) && safe(st) && dirsSafe(root, path.Dir(binary))
	if host && c.pkgs != nil {
		f.Package = c.pkgs.lookup(binary)
	}
	c.mu.Lock()
	if len(c.cache) >= c.cfg.MaxEntries {
		clear(c.cache) // a bound, not an LRU: rebuilding costs a few stats
	}
	c.cache[key] = f
	c.mu.Unlock()
	return f
}

// safe: owned by root, not writable by group or others.
func safe(st *unix.Stat_t) bool {
	return st.Uid == 0 && st.Mode&0o022 == 0
}

// dirsSafe checks dir and every directory above it, up to root, without
// following symbolic links (a link is not a directory and fails).
func dirsSafe(root, dir string) bool {
	for {
		var st unix.Stat_t
		p := path.Join(root, dir)
		if dir == "/" {
			// the root itself: /proc/PID/root is a link to the process's
			// root, which a trailing slash follows
			p += "/"
		}
		if unix.Lstat(p, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR || !safe(&st) {
			return false
		}
		if dir == "/" {
			return true
		}
		dir = path.Dir(dir)
	}
}

// kernelDev converts a user-space device number to the kernel's encoding
// (major<<20 | minor), which the sensors report.
func kernelDev(dev uint64) uint32 {
	return unix.Major(dev)<<20 | unix.Minor(dev)
}

// Close waits for a package index build under way, which holds files
// open while it reads them.
func (c *Checker) Close() {
	if c.pkgs != nil {
		c.pkgs.builds.Wait()
	}
}

// LoadPackages builds the package index now if it was never built (it
// is otherwise built in the background on first use, and lookups return
// "" until it is ready).
func (c *Checker) LoadPackages() {
	if c.pkgs != nil {
		c.pkgs.wait()
	}
}
