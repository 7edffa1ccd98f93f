package kernel

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

// ErrNoCgroup2 means no cgroup v2 hierarchy is mounted.
var ErrNoCgroup2 = errors.New("no cgroup2 filesystem is mounted")

// Cgroup2Root is where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup on
// a pure v2 host, /sys/fs/cgroup/unified on a hybrid one.
func Cgroup2Root() (string, error) {
	mounts, err := Mounts()
	if err != nil {
		return "", err
	}
	m, ok := FindMount(mounts, "cgroup2")
	if !ok {
		return "", ErrNoCgroup2
	}
	return m.Point, nil
}

// CgroupID is the id of the cgroup v2 directory at path: the kernfs node id,
// which is also the directory's inode number.
func CgroupID(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("stat cgroup %s: %w", path, err)
	}
	return st.Ino, nil
}

// CgroupLevel is how deep path lies below the cgroup v2 root (the root is 0).
func CgroupLevel(root, path string) (int, error) {
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return 0, fmt.Errorf("cgroup %s is not below the cgroup2 root %s", path, root)
	}
	if rel == "." {
		return 0, nil
	}
	return len(strings.Split(rel, "/")), nil
}

// v1Preference orders the v1 controllers whose hierarchy names containers:
// runtimes create a cgroup per container in each of them.
var v1Preference = []string{"memory", "pids", "cpu", "cpuacct", "devices", "freezer", "blkio"}

// CgroupV1Controller returns the index (enum cgroup_subsys_id) of a v1
// controller that is mounted in its own hierarchy, for naming containers on
// hosts that do not use the v2 hierarchy for them; ok is false on a pure v2
// host.
func CgroupV1Controller() (id int, name string, ok bool, err error) {
	mounts, err := Mounts()
	if err != nil {
		return 0, "", false, err
	}
	var mounted []string
	for _, m := range mounts {
		if m.FSType == "cgroup" {
			mounted = append(mounted, m.Options...)
		}
	}
	for _, ctrl := range v1Preference {
		if !slices.Contains(mounted, ctrl) {
			continue
		}
		id, err := cgroupSubsysID(ctrl)
		if err != nil {
			return 0, "", false, err
		}
		return id, ctrl, true, nil
	}
	return 0, "", false, nil
}

// cgroupSubsysID looks a controller up in the kernel's enum cgroup_subsys_id,
// whose numbering depends on the kernel's configuration.
func cgroupSubsysID(ctrl string) (int, error) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return 0, fmt.Errorf("load kernel BTF: %w", err)
	}
	var enum *btf.Enum
	if err := spec.TypeByName("cgroup_subsys_id", &enum); err != nil {
		return 0, fmt.Errorf("find enum cgroup_subsys_id: %w", err)
	}
	name := ctrl
	if name == "blkio" {
		name = "io" // the v1 name of the io controller
	}
	for _, v := range enum.Values {
		if v.Name == name+"_cgrp_id" {
			return int(v.Value), nil
		}
	}
	return 0, fmt.Errorf("controller %s is not in enum cgroup_subsys_id", ctrl)
}
