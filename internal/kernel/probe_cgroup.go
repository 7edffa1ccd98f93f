package kernel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// probeCgroupPrefix names the temporary cgroups the probes create, so that a
// leftover one (after a crash mid-probe) says whose it is; the probing
// process's pid follows it (probeCgroupPattern).
const probeCgroupPrefix = "vigil-probe-"

// probeCgroupPattern is the os.MkdirTemp pattern of this process's
// temporary cgroups: "vigil-probe-PID-" and a random suffix.
func probeCgroupPattern() string {
	return fmt.Sprintf("%s%d-", probeCgroupPrefix, os.Getpid())
}

// cgroupRemoveAttempts bounds how long removing a temporary cgroup is
// retried: the kernel releases detached programs asynchronously, and rmdir
// may briefly see the cgroup as busy.
const cgroupRemoveAttempts = 50

// probeCgroupSockAddr attaches a cgroup/connect or cgroup/sendmsg program
// (hook: "connect4", …) that allows everything (returns 1) to a temporary
// child cgroup. Never the root cgroup: every process on the host sits there.
func probeCgroupSockAddr(at ebpf.AttachType, hook string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		return attachToTempCgroup(ebpf.CGroupSockAddr, at, "cgroup/"+hook)
	}
}

func probeCgroupSKB(context.Context) (string, error) {
	return attachToTempCgroup(ebpf.CGroupSKB, ebpf.AttachCGroupInetEgress, "cgroup_skb/egress")
}

func attachToTempCgroup(pt ebpf.ProgramType, at ebpf.AttachType, section string) (string, error) {
	prog, err := loadProbeProgram(ebpf.ProgramSpec{
		Type:         pt,
		AttachType:   at,
		Instructions: returning(1), // 1 = allow
	})
	if err != nil {
		return "", fmt.Errorf("%s: %w", section, err)
	}
	defer func() { _ = prog.Close() }() // a probe: only its loading mattered

	root, err := cgroup2Root()
	if err != nil {
		return "", err
	}
	err = withTempCgroup(root, func(dir string) error {
		l, err := link.AttachCgroup(link.CgroupOptions{Path: dir, Attach: at, Program: prog})
		if err != nil {
			return fmt.Errorf("attach %s: %w", section, err)
		}
		return l.Close()
	})
	if err != nil {
		return "", err
	}
	return "loaded and attached to a temporary child cgroup of " + root, nil
}

// withTempCgroup runs fn with a new empty cgroup under root and removes that
// cgroup afterwards, whatever fn did.
func withTempCgroup(root string, fn func(dir string) error) (err error) {
	dir, err := os.MkdirTemp(root, probeCgroupPattern())
	if err != nil {
		return fmt.Errorf("create temporary cgroup: %w", err)
	}
	defer func() {
		if rmErr := removeCgroup(dir); rmErr != nil {
			err = errors.Join(err, rmErr)
		}
	}()
	return fn(dir)
}

func removeCgroup(dir string) error {
	var err error
	for range cgroupRemoveAttempts {
		// A cgroup directory holds only kernel files: rmdir, not a recursive remove.
		if err = os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("remove temporary cgroup %s: %w", dir, err)
}

// cgroup2Root finds where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup
// on a unified host, /sys/fs/cgroup/unified on a hybrid one.
func cgroup2Root() (string, error) {
	mounts, err := Mounts()
	if err != nil {
		return "", fmt.Errorf("read mounts: %w", err)
	}
	m, ok := FindMount(mounts, "cgroup2")
	if !ok {
		return "", errors.New("cgroup2 is not mounted: cgroup hooks need a cgroup v2 hierarchy")
	}
	return m.Point, nil
}

func probeCgroup2(context.Context) (string, error) {
	root, err := cgroup2Root()
	if err != nil {
		return "", err
	}
	return "mounted at " + root, nil
}
