package kernel

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// Well-known mount points vigil relies on.
const (
	TraceFSPath = "/sys/kernel/tracing"
	BPFFSPath   = "/sys/fs/bpf"
)

// Mount is one line of /proc/self/mountinfo, reduced to what vigil uses.
type Mount struct {
	Point   string
	FSType  string
	Options []string // per-superblock options: controllers for cgroup v1
}

// Mounts lists the mounts this process sees.
func Mounts() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only
	var mounts []Mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || len(fields) < sep+4 {
			continue
		}
		mounts = append(mounts, Mount{
			Point:   unescapeMountPath(fields[4]),
			FSType:  fields[sep+1],
			Options: strings.Split(fields[sep+3], ","),
		})
	}
	return mounts, sc.Err()
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// FindMount returns the first mount of fstype, and whether there is one.
func FindMount(mounts []Mount, fstype string) (Mount, bool) {
	for _, m := range mounts {
		if m.FSType == fstype {
			return m, true
		}
	}
	return Mount{}, false
}

// EnsureMounts mounts tracefs and bpffs where vigil expects them, when
// they are not mounted yet. It returns what it mounted.
func EnsureMounts() ([]string, error) {
	return ensureMounts([]mountTarget{
		{TraceFSPath, "tracefs"},
		{BPFFSPath, "bpf"},
	})
}

// LoadSpec mounts tracefs and bpffs (EnsureMounts) before it reads an
// object's spec with load: cilium/ebpf remembers a missing tracefs for the
// life of the process, so an object with classic tracepoints must not be
// read before.
func LoadSpec(load func() (*ebpf.CollectionSpec, error)) (*ebpf.CollectionSpec, error) {
	if _, err := EnsureMounts(); err != nil {
		return nil, err
	}
	return load()
}

// mountTarget is a filesystem and where it must be mounted.
type mountTarget struct{ path, fstype string }

// ensureMounts mounts each target that is not mounted at its path yet,
// creating the mount point if need be, and returns the paths it mounted.
func ensureMounts(targets []mountTarget) ([]string, error) {
	mounts, err := Mounts()
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	var done []string
	for _, want := range targets {
		if mountedAt(mounts, want.path, want.fstype) {
			continue
		}
		if err := os.MkdirAll(want.path, 0o700); err != nil {
			return done, fmt.Errorf("create %s: %w", want.path, err)
		}
		if err := unix.Mount(want.fstype, want.path, want.fstype, 0, ""); err != nil {
			return done, fmt.Errorf("mount %s at %s: %w", want.fstype, want.path, err)
		}
		done = append(done, want.path)
	}
	return done, nil
}

func mountedAt(mounts []Mount, path, fstype string) bool {
	for _, m := range mounts {
		if m.Point == path && m.FSType == fstype {
			return true
		}
	}
	return false
}
