// Package username names the user a process runs as: the entry for its uid
// in the process's own /etc/passwd, read through /proc/PID/root, so that a
// containerised (or chrooted) process is named from its image's file, as
// Falco's user.name is. Files are parsed once per version (device, inode,
// size, mtime): a lookup costs one stat on a hit.
package username

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Bounds of the cache.
const (
	// MaxFileBytes is how much of a passwd file is read; entries past it
	// have no name.
	MaxFileBytes = 1 << 20
	maxFiles     = 256  // passwd files (host, images, chroots) kept parsed
	maxNS        = 1024 // mount namespaces remembered for processes already gone
)

// fileKey is one passwd file; version tells its contents apart.
type fileKey struct {
	dev, ino uint64
}

type version struct {
	size  int64
	mtime time.Time
}

type table struct {
	version version
	names   map[uint32]string
}

// Names looks user names up. Not safe for concurrent use.
type Names struct {
	proc   string
	files  map[fileKey]*table
	lastNS map[uint32]*table // by mount namespace: for processes gone before their lookup
}

// New reads processes' files below proc ("/proc").
func New(proc string) *Names {
	return &Names{proc: proc, files: map[fileKey]*table{}, lastNS: map[uint32]*table{}}
}

// Of returns the name of uid in the /etc/passwd of process pid, whose
// mount namespace is mntNS; "" when the file has no entry for it or
// cannot be read. When the process is gone, the file last read for its
// mount namespace answers.
func (n *Names) Of(pid, uid, mntNS uint32) string {
	path := filepath.Join(n.proc, strconv.FormatUint(uint64(pid), 10), "root", "etc", "passwd")
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		if t := n.lastNS[mntNS]; t != nil {
			return t.names[uid]
		}
		return ""
	}
	key := fileKey{dev: st.Dev, ino: st.Ino}
	ver := version{size: st.Size, mtime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec)}
	t := n.files[key]
	if t == nil || t.version != ver {
		names, err := read(path)
		if err != nil {
			return ""
		}
		t = &table{version: ver, names: names}
		if len(n.files) >= maxFiles && n.files[key] == nil {
			evictOne(n.files)
		}
		n.files[key] = t
	}
	if n.lastNS[mntNS] != t {
		if len(n.lastNS) >= maxNS {
			clear(n.lastNS)
		}
		n.lastNS[mntNS] = t
	}
	return t.names[uid]
}

func evictOne(m map[fileKey]*table) {
	for k := range m {
		delete(m, k)
		return
	}
}

// read parses a passwd file: name:password:uid:…, one entry a line. The
// first entry of a uid names it, as getpwuid(3) answers.
func read(path string) (map[uint32]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: nothing to flush
	return parse(io.LimitReader(f, MaxFileBytes)), nil
}

func parse(r io.Reader) map[uint32]string {
	names := map[uint32]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue // comments and NIS compat entries name nobody
		}
		fields := strings.SplitN(line, ":", 4)
		if len(fields) < 4 || fields[0] == "" {
			continue
		}
		uid, err := strconv.ParseUint(fields[2], 10, 32)
		if err != nil {
			continue
		}
		if _, seen := names[uint32(uid)]; !seen {
			names[uint32(uid)] = fields[0]
		}
	}
	return names
}
