package podscope

import (
	"os"
	"path/filepath"
	"strings"
)

// The kubelet puts every pod's cgroup in a "kubepods" subtree: under the
// cgroupfs driver kubepods/[besteffort|burstable/]pod<uid>, under the
// systemd driver kubepods.slice/[kubepods-besteffort.slice/]kubepods-…-
// pod<uid>.slice; a container's cgroup is a directory of its pod's. The
// subtree sits below the kubelet's --cgroup-root, usually the mount itself.

const (
	// rootDepth is how deep below the cgroup2 mount a kubepods directory
	// is looked for.
	rootDepth = 3
	// maxVisited bounds the directories one search for kubepods reads.
	maxVisited = 8192
)

// KubepodsRoots finds the kubepods directories below root (the cgroup2
// mount), at most rootDepth levels down, not looking inside them.
func KubepodsRoots(root string) []string {
	var out []string
	level := []string{root}
	visited := 0
	for depth := 0; depth < rootDepth && len(level) > 0; depth++ {
		var next []string
		for _, dir := range level {
			for _, name := range subdirs(dir) {
				if visited++; visited > maxVisited {
					return out
				}
				p := filepath.Join(dir, name)
				if name == "kubepods" || name == "kubepods.slice" {
					out = append(out, p)
					continue
				}
				next = append(next, p)
			}
		}
		level = next
	}
	return out
}

// FindPod looks for the cgroup of pod uid in the kubepods directories:
// directly in one, or in one of its QoS classes.
func FindPod(roots []string, uid string) (string, bool) {
	for _, r := range roots {
		for _, name := range subdirs(r) {
			p := filepath.Join(r, name)
			if u, ok := ParsePodCgroup(name); ok {
				if u == uid {
					return p, true
				}
				continue
			}
			if !strings.Contains(name, "besteffort") && !strings.Contains(name, "burstable") {
				continue
			}
			for _, inner := range subdirs(p) {
				if u, ok := ParsePodCgroup(inner); ok && u == uid {
					return filepath.Join(p, inner), true
				}
			}
		}
	}
	return "", false
}

// Containers lists the containers' cgroups in a pod's: container id →
// directory.
func Containers(podDir string) map[string]string {
	out := map[string]string{}
	for _, name := range subdirs(podDir) {
		if id, ok := ParseContainerCgroup(name); ok {
			out[id] = filepath.Join(podDir, name)
		}
	}
	return out
}

func subdirs(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}
